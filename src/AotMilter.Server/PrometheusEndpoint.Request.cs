using System.Buffers;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.Server;

public sealed partial class PrometheusEndpoint
{
    /// <summary>
    /// Time a client has to send its request and take the answer. A scrape on the same host takes milliseconds; the
    /// deadline is what frees the slot of a client that connects and then says nothing.
    /// </summary>
    public static readonly TimeSpan ClientDeadline = TimeSpan.FromSeconds(5);

    /// <summary>The largest request head read; a scraper's is a few hundred bytes.</summary>
    public const int MaxRequestBytes = 8192;

    private async Task ServeAsync(Socket client)
    {
        byte[] request = ArrayPool<byte>.Shared.Rent(MaxRequestBytes);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(ClientDeadline);
            int length = await ReadHeadAsync(client, request.AsMemory(0, MaxRequestBytes), deadline.Token).ConfigureAwait(false);
            (string status, string body) = length < 0 ? TooLarge : Answer(request.AsSpan(0, length));
            byte[] payload = Encoding.UTF8.GetBytes(body);
            byte[] head = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n");
            await client.SendAsync(head, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            await client.SendAsync(payload, SocketFlags.None, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            Log.MetricsRequestFailed(_log, ex is OperationCanceledException && !_stop.IsCancellationRequested
                ? $"no complete exchange within {ClientDeadline.TotalSeconds:0} s"
                : ex.Message);
        }
        finally
        {
            client.Dispose();
            ArrayPool<byte>.Shared.Return(request);
            Interlocked.Decrement(ref _clients);
        }
    }

    /// <summary>
    /// Reads until the blank line that ends the request head, or until the client stops sending. Returns the bytes
    /// read, or -1 when the head does not fit in <paramref name="buffer"/>.
    /// </summary>
    private static async Task<int> ReadHeadAsync(Socket client, Memory<byte> buffer, CancellationToken cancel)
    {
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await client.ReceiveAsync(buffer[length..], SocketFlags.None, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                return length;
            }

            // Only the new bytes and the three before them can complete the terminator.
            int from = Math.Max(0, length - 3);
            length += n;
            if (buffer.Span[from..length].IndexOf("\r\n\r\n"u8) >= 0)
            {
                return length;
            }
        }

        return -1;
    }

    private static readonly (string Status, string Body) TooLarge =
        ("431 Request Header Fields Too Large", $"the request head is larger than {MaxRequestBytes} bytes\n");

    private (string Status, string Body) Answer(ReadOnlySpan<byte> request)
    {
        int end = request.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> line = end < 0 ? request : request[..end];
        if (!(line.StartsWith("GET /metrics "u8) || line.StartsWith("GET / "u8) || line.StartsWith("GET /metrics?"u8)))
        {
            return ("404 Not Found", "not found: the metrics are at /metrics\n");
        }

        var text = new StringBuilder(4096);
        _metrics.WritePrometheus(text);
        return ("200 OK", text.ToString());
    }
}
