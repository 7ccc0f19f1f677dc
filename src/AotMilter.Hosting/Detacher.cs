using System.Runtime.InteropServices;
using System.Text;

namespace AotMilter.Hosting;

/// <summary>
/// <c>-D</c>: forking a .NET process is unsafe (other threads vanish mid-flight), so the daemon re-executes itself
/// with posix_spawn in a new session (POSIX_SPAWN_SETSID), standard streams on /dev/null and the write end of a pipe
/// on descriptor 3. The parent exits 0 when the child reports READY on that pipe, or 1 with the child's reason.
/// </summary>
internal static unsafe partial class Detacher
{
    public const string ReadyFdVariable = "AOTMILTER_READY_FD";
    private const int ReadyFd = 3;
    private const short PosixSpawnSetSid = 0x80;
    private const int OReadWrite = 2;
    private const int OCloseOnExec = 0x80000;

    /// <summary>True in the re-executed child (it inherited the ready pipe).</summary>
    public static bool IsDetachedChild => Environment.GetEnvironmentVariable(ReadyFdVariable) is not null;

    public static int SpawnAndWait(string[] args)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path");
        int* fds = stackalloc int[2];
        if (Pipe2(fds, OCloseOnExec) != 0)
        {
            Console.Error.WriteLine($"{ProgramName.Value}: cannot create a pipe: {Marshal.GetLastPInvokeErrorMessage()}");
            return 1;
        }

        int readEnd = fds[0], writeEnd = fds[1];
        int pid = Spawn(exe, args, writeEnd, out string? spawnError);
        _ = Close(writeEnd);
        if (pid <= 0)
        {
            _ = Close(readEnd);
            Console.Error.WriteLine($"{ProgramName.Value}: cannot start the daemon: {spawnError}");
            return 1;
        }

        string report = ReadAll(readEnd).Trim();
        _ = Close(readEnd);
        if (report == "READY")
        {
            Console.Error.WriteLine($"{ProgramName.Value}: daemon started (pid {pid})");
            return 0;
        }

        Console.Error.WriteLine(report.StartsWith("ERROR ", StringComparison.Ordinal)
            ? $"{ProgramName.Value}: {report[6..]}"
            : $"{ProgramName.Value}: the daemon (pid {pid}) exited before it was ready");
        return 1;
    }

    private static int Spawn(string exe, string[] args, int writeEnd, out string? error)
    {
        byte* attr = stackalloc byte[1024];
        byte* actions = stackalloc byte[1024];
        nint[] argv = new nint[args.Length + 2];
        var env = new List<nint>();
        try
        {
            argv[0] = Marshal.StringToCoTaskMemUTF8(exe);
            for (int i = 0; i < args.Length; i++)
            {
                argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                env.Add(Marshal.StringToCoTaskMemUTF8($"{e.Key}={e.Value}"));
            }

            env.Add(Marshal.StringToCoTaskMemUTF8($"{ReadyFdVariable}={ReadyFd}"));
            env.Add(0);

            _ = SpawnAttrInit(attr);
            _ = SpawnAttrSetFlags(attr, PosixSpawnSetSid);
            _ = FileActionsInit(actions);
            _ = FileActionsAddOpen(actions, 0, "/dev/null", OReadWrite, 0);
            _ = FileActionsAddOpen(actions, 1, "/dev/null", OReadWrite, 0);
            _ = FileActionsAddOpen(actions, 2, "/dev/null", OReadWrite, 0);
            _ = FileActionsAddDup2(actions, writeEnd, ReadyFd);

            int pid;
            nint[] envp = env.ToArray();
            fixed (nint* argvPtr = argv)
            fixed (nint* envPtr = envp)
            {
                int rc = PosixSpawn(&pid, exe, actions, attr, argvPtr, envPtr);
                error = rc == 0 ? null : Marshal.GetPInvokeErrorMessage(rc);
                return rc == 0 ? pid : -1;
            }
        }
        finally
        {
            _ = FileActionsDestroy(actions);
            _ = SpawnAttrDestroy(attr);
            foreach (nint p in argv)
            {
                Marshal.FreeCoTaskMem(p);
            }

            foreach (nint p in env)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static string ReadAll(int fd)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[512];
        while (true)
        {
            nint n;
            fixed (byte* b = buffer)
            {
                n = Read(fd, b, buffer.Length);
            }

            if (n < 0 && Marshal.GetLastPInvokeError() == 4 /* EINTR */)
            {
                continue;
            }

            if (n <= 0)
            {
                return text.ToString();
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
        }
    }

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "posix_spawn", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int PosixSpawn(int* pid, string path, byte* fileActions, byte* attr, nint* argv, nint* envp);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int SpawnAttrInit(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int SpawnAttrDestroy(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int SpawnAttrSetFlags(byte* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int FileActionsInit(byte* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int FileActionsDestroy(byte* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FileActionsAddOpen(byte* actions, int fd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int FileActionsAddDup2(byte* actions, int fd, int newFd);
}
