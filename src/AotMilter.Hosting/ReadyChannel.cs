using System.Runtime.InteropServices;
using System.Text;

namespace AotMilter.Hosting;

/// <summary>
/// The detached daemon's side of the start-up report: one line on an inherited pipe, "READY" once listening or
/// "ERROR reason" when start-up failed. In the foreground there is no pipe and both calls do nothing.
/// </summary>
internal sealed partial class ReadyChannel : IDisposable
{
    private int _fd;

    private ReadyChannel(int fd) => _fd = fd;

    public bool IsConnected => _fd >= 0;

    public static ReadyChannel FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(Detacher.ReadyFdVariable);
        Environment.SetEnvironmentVariable(Detacher.ReadyFdVariable, null);
        return new ReadyChannel(int.TryParse(text, out int fd) && fd > 2 ? fd : -1);
    }

    public void Succeed() => Send("READY\n");

    public void Fail(string reason) => Send($"ERROR {reason.ReplaceLineEndings(" ")}\n");

    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = CloseFd(_fd);
            _fd = -1;
        }
    }

    private void Send(string line)
    {
        if (_fd < 0)
        {
            return;
        }

        byte[] bytes = Encoding.UTF8.GetBytes(line);
        _ = WriteFd(_fd, bytes, (nint)bytes.Length);
        Dispose();
    }

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseFd(int fd);
}
