using System.Net.Sockets;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// <c>--metrics SPEC</c>: the counters of <see cref="MilterMetrics"/> as Prometheus text on <c>GET /metrics</c>.
/// A deliberately small HTTP/1.1 responder (one request per connection, then close) rather than a web framework or
/// an exporter package: it keeps the binary small and AOT-clean, and a scrape is all it has to serve.
/// This file decides which connections are served at all; <c>PrometheusEndpoint.Request.cs</c> answers one.
/// The endpoint shares the process's descriptors with the milter listener, so it must never be the reason the daemon
/// runs out of them or spends its CPU: it serves a bounded number of clients, each for a bounded time.
/// </summary>
public sealed partial class PrometheusEndpoint : IAsyncDisposable
{
    /// <summary>Clients served at once; a scraper needs one, so the rest is slack for a few at a time.</summary>
    public const int MaxClients = 16;

    // At the descriptor limit the listening socket stays readable while every accept fails: without a pause the loop
    // would retry at full speed. The scraper's connection waits in the backlog meanwhile.
    private static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly MilterMetrics _metrics;
    private readonly ILogger _log;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly LogRateLimiter _acceptErrors = new(LogInterval);
    private readonly LogRateLimiter _refusals = new(LogInterval);
    private readonly Task _accepting;
    private int _clients;

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
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted)
            {
                // That one client gave up while it waited in the backlog; the next may be fine.
                continue;
            }
            catch (SocketException ex)
            {
                // Out of descriptors (EMFILE, ENFILE) or kernel memory, or anything else that would fail again at once.
                if (_acceptErrors.ShouldLog(out long suppressed))
                {
                    Log.MetricsAcceptPaused(_log, Describe(ex), (int)AcceptPause.TotalMilliseconds, suppressed, LogInterval.TotalSeconds);
                }

                if (!await PauseAsync().ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            if (Volatile.Read(ref _clients) >= MaxClients)
            {
                // Closed at once rather than left in the backlog: a flood of idle connections then costs no descriptor
                // beyond the ones being served, and the clients learn at once that they were refused.
                if (_refusals.ShouldLog(out long refused))
                {
                    Log.MetricsClientsFull(_log, MaxClients, refused, LogInterval.TotalSeconds);
                }

                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref _clients);
            _ = ServeAsync(client);
        }
    }

    // .NET reports EMFILE and ENFILE as one SocketError whose text names only ENFILE (the system's table, which is
    // rarely the one that is full).
    private static string Describe(SocketException ex) => ex.SocketErrorCode == SocketError.TooManyOpenSockets
        ? "out of file descriptors (EMFILE or ENFILE)"
        : ex.Message;

    /// <summary>False when the endpoint is stopping.</summary>
    private async Task<bool> PauseAsync()
    {
        try
        {
            await Task.Delay(AcceptPause, _stop.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
