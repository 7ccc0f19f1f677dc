using System.Runtime.InteropServices;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>The few libc calls the harness needs that .NET does not expose.</summary>
internal static class Native
{
    public const int SIGKILL = 9;

    public const int SIGTERM = 15;

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false if the process is gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;
}
