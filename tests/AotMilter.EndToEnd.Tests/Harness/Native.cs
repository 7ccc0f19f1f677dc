using System.Runtime.InteropServices;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>The few libc calls the harness needs that .NET does not expose.</summary>
internal static class Native
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGTERM = 15;

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static extern int LChown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false if the process is gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Gives <paramref name="path"/> itself (a symbolic link, not its target) to uid:gid.</summary>
    public static void ChownNoFollow(string path, uint uid, uint gid)
    {
        if (LChown(path, uid, gid) != 0)
        {
            throw new IOException($"lchown {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>Creates a fifo (mode 0666) at <paramref name="path"/>.</summary>
    public static void MakeFifo(string path)
    {
        if (MkFifo(path, 0x1B6) != 0)
        {
            throw new IOException($"mkfifo {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }
}
