using System.Net.Sockets;
using System.Text;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// <c>--metrics SPEC</c>: the counters of <see cref="MilterMetrics"/> as Prometheus text on <c>GET /metrics</c>.
/// A deliberately small HTTP/1.1 responder (one request per connection, then close) rather than a web framework or
/// an exporter package: it keeps the binary small and AOT-clean, and a scrape is all it has to serve.
/// </summary>
public sealed class PrometheusEndpoint : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private readonly MilterMetrics _metrics;
    private readonly ILogger _log;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private PrometheusEndpoint(Socket listener, MilterMetrics metrics, ILogger log)
    {
        _listener = listener;
        _metrics = metrics;
        _log = log;
        _accepting = AcceptAsync();
    }

    /// <summary>Binds <paramref name="spec"/> and starts answering scrapes.</summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static PrometheusEndpoint Start(SocketSpec spec, MilterMetrics metrics, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Socket socket = spec.Kind switch
        {
            SocketKind.Unix => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            SocketKind.Inet => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp),
            _ => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp),
        };
        try
        {
            if (spec.Kind == SocketKind.Unix)
            {
                UnixSocketFile.PrepareForBind(spec.Path!);
            }
            else
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(spec.ToEndPoint());
            socket.Listen(64);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        Log.MetricsListening(log, spec.ToString());
        return new PrometheusEndpoint(socket, metrics, log);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                byte[] request = new byte[MaxRequestBytes];
                int length = 0;
                while (length < request.Length)
                {
                    int n = await client.ReceiveAsync(request.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    length += n;
                    if (request.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
                    {
                        break;
                    }
                }

                ReadOnlySpan<byte> line = request.AsSpan(0, length);
                int end = line.IndexOf("\r\n"u8);
                line = end < 0 ? line : line[..end];
                bool scrape = line.StartsWith("GET /metrics "u8) || line.StartsWith("GET / "u8) || line.StartsWith("GET /metrics?"u8);
                string body;
                string status;
                if (scrape)
                {
                    var text = new StringBuilder(4096);
                    _metrics.WritePrometheus(text);
                    body = text.ToString();
                    status = "200 OK";
                }
                else
                {
                    body = "not found: the metrics are at /metrics\n";
                    status = "404 Not Found";
                }

                byte[] payload = Encoding.UTF8.GetBytes(body);
                byte[] head = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n");
                await client.SendAsync(head, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                await client.SendAsync(payload, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                Log.MetricsRequestFailed(_log, ex.Message);
            }
        }
    }
}
