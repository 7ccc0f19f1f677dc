using System.Net;
using System.Net.Sockets;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Hands out free TCP ports on 127.0.0.1, never the same one twice in a test run.</summary>
public static class Ports
{
    private static readonly HashSet<int> Issued = [];
    private static readonly Lock Gate = new();

    public static int GetFree()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Issued.Add(port))
                {
                    return port;
                }
            }

            throw new InvalidOperationException("could not find a free port on 127.0.0.1");
        }
    }

    /// <summary>True if something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> IsOpenAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
