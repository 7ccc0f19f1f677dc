using System.Net.Sockets;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// Receives syslog datagrams on a unix socket (mode 0666) and keeps the lines. Sendmail logs only through syslog(3);
/// its namespace wrapper mounts this socket on /dev/log so each instance's log can go into failure messages.
/// </summary>
public sealed class SyslogSink : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stopping = new();
    private readonly StringBuilder _lines = new();
    private readonly Task _receiveLoop;

    private SyslogSink(Socket socket, string path)
    {
        _socket = socket;
        Path = path;
        _receiveLoop = ReceiveLoopAsync();
    }

    public string Path { get; }

    public string Text
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToString();
            }
        }
    }

    public static SyslogSink Start(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110); // 0666
        return new SyslogSink(socket, path);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _socket.Dispose();
        await Task.WhenAny(_receiveLoop, Task.Delay(TimeSpan.FromSeconds(2)));
        _stopping.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        while (!_stopping.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            // "<PRI>Mmm dd hh:mm:ss tag[pid]: text": drop the priority.
            var line = Encoding.UTF8.GetString(buffer, 0, length).TrimEnd('\0', '\n');
            if (line.StartsWith('<') && line.IndexOf('>') is > 0 and var end)
            {
                line = line[(end + 1)..];
            }

            lock (_lines)
            {
                _lines.AppendLine(line);
            }
        }
    }
}
