using System.Net.Sockets;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>
/// A hostile peer where a scanner should be, on a real unix socket: it reads the request up to the point the test
/// names, then does what a broken scanner does (answers nonsense, closes in the middle of its reply). It gives no
/// verdicts: the tests check that the filter turns such a peer into its on-error verdict without hanging.
/// </summary>
internal sealed class MisbehavingScanner : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private readonly string _directory;

    private MisbehavingScanner(Func<byte[], bool> requestComplete, byte[] answer)
    {
        _directory = Path.Combine(Path.GetTempPath(), "aotm-bad-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        SocketPath = Path.Combine(_directory, "scanner.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _serving = ServeAsync(requestComplete, answer);
    }

    public string SocketPath { get; }

    public string Address => "unix:" + SocketPath;

    /// <summary>Connections served so far.</summary>
    public int Connections { get; private set; }

    /// <summary>Reads until <paramref name="requestComplete"/> says the request is whole, writes <paramref name="answer"/>, closes.</summary>
    public static MisbehavingScanner Answering(Func<byte[], bool> requestComplete, byte[] answer) => new(requestComplete, answer);

    /// <summary>True once an INSTREAM request has its zero-length terminator chunk.</summary>
    public static bool InstreamComplete(byte[] received) => received.Length >= 4 && received.AsSpan(received.Length - 4).SequenceEqual(new byte[4]);

    /// <summary>True once a request with a head (spamd's, HTTP's) has all the bytes its Content-length announces.</summary>
    public static bool ContentComplete(byte[] received)
    {
        int end = received.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        System.Text.RegularExpressions.Match length = System.Text.RegularExpressions.Regex.Match(
            System.Text.Encoding.ASCII.GetString(received, 0, end), @"(?im)^content-length:\s*(\d+)");
        return !length.Success || received.Length - end - 4 >= int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _serving.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task ServeAsync(Func<byte[], bool> requestComplete, byte[] answer)
    {
        while (!_stop.IsCancellationRequested)
        {
            using Socket client = await _listener.AcceptAsync(_stop.Token);
            Connections++;
            var received = new List<byte>();
            byte[] buffer = new byte[65536];
            while (!requestComplete([.. received]))
            {
                int n = await client.ReceiveAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
            }

            await client.SendAsync(answer, _stop.Token);
            client.Shutdown(SocketShutdown.Both);
        }
    }
}
