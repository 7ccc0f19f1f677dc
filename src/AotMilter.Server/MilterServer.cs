using System.Collections.Concurrent;
using System.Net.Sockets;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// Listens on one socket and runs a filter chain for every MTA connection. <see cref="Start"/> binds (so errors such
/// as "address in use" surface before a daemon reports ready); <see cref="RunAsync"/> accepts until stopped, then lets
/// in-flight connections finish within the grace period and removes the unix socket.
/// </summary>
public sealed class MilterServer : IAsyncDisposable
{
    private readonly FilterChain _chain;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private readonly ILogger _filterLog;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly CancellationTokenSource _cutConnections = new();
    private Socket? _listener;
    private bool _inherited;
    private string? _inheritedPath;
    private long _nextConnectionId;

    public MilterServer(FilterChain chain, MilterServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = loggerFactory.CreateLogger("aotmilter");
        _filterLog = loggerFactory.CreateLogger("filter");
    }

    /// <summary>What this server's connections count; set before <see cref="RunAsync"/> to publish them.</summary>
    public MilterMetrics? Metrics { get; init; }

    /// <summary>Connections accepted so far.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _nextConnectionId);

    /// <summary>Connections open now.</summary>
    public int ConnectionsOpen => _connections.Count;

    /// <summary>Binds and listens.</summary>
    /// <exception cref="IOException">The unix socket path is in use, not a socket, or its access cannot be set.</exception>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public void Start() => Start(inherited: null);

    /// <summary>
    /// Listens on a socket the service manager opened and passed down (systemd socket activation): nothing is bound;
    /// a unix socket still gets the configured mode and group, and is left in place at exit (it belongs to systemd).
    /// </summary>
    public void Start(Socket? inherited)
    {
        if (inherited is not null)
        {
            if (inherited.LocalEndPoint is UnixDomainSocketEndPoint { } unix && unix.ToString() is { Length: > 0 } path && path[0] == '/')
            {
                UnixSocketFile.SetAccess(path, _options.SocketMode, _options.SocketGroup);
                _inheritedPath = path;
            }

            inherited.Listen(_options.Backlog);
            _listener = inherited;
            _inherited = true;
            Log.Listening(_log, $"{DescribeEndPoint(inherited)} (passed by the service manager)", _chain.Names);
            return;
        }

        SocketSpec spec = _options.Socket;
        Socket socket;
        if (spec.Kind == SocketKind.Unix)
        {
            UnixSocketFile.PrepareForBind(spec.Path!);
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        else
        {
            socket = new Socket(spec.Kind == SocketKind.Inet ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }

        try
        {
            socket.Bind(spec.ToEndPoint());
            if (spec.Kind == SocketKind.Unix)
            {
                UnixSocketFile.SetAccess(spec.Path!, _options.SocketMode, _options.SocketGroup);
            }

            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _listener = socket;
        ServerStatistics.ListeningStarted();
        Log.Listening(_log, spec.ToString(), _chain.Names);
    }

    /// <summary>Accepts connections until <paramref name="stopping"/> fires, then drains and cleans up.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        Socket listener = _listener ?? throw new InvalidOperationException("Start must be called first");
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    Log.AcceptFailed(_log, ex.SocketErrorCode.ToString());
                    await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                if (client.AddressFamily != AddressFamily.Unix)
                {
                    client.NoDelay = true;
                }

                long id = Interlocked.Increment(ref _nextConnectionId);
                ServerStatistics.ConnectionOpened();
                var session = new MilterSession(_chain, _options, _log, _filterLog, id, Metrics);
                var connection = new MilterConnection(client, session, _options, _log);

                // Registered before it starts, so a connection that ends at once cannot be removed before it is added.
                var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _connections[id] = finished.Task;
                _ = RunConnectionAsync(id, connection, finished);
            }
        }
        finally
        {
            listener.Dispose();
            await DrainAsync().ConfigureAwait(false);
            if (_options.Socket.Kind == SocketKind.Unix && !_inherited)
            {
                TryDeleteSocket(_options.Socket.Path!);
            }

            Log.Stopped(_log, _inherited ? _inheritedPath ?? "the inherited socket" : _options.Socket.ToString());
        }
    }

    /// <summary>
    /// Runs the milter protocol on one socket that is already connected to an MTA (or to an MTA-side test client,
    /// e.g. one end of a socket pair), exactly as for a connection accepted by <see cref="RunAsync"/>: same session,
    /// same filters, same limits. Needs no <see cref="Start"/>. Completes when the MTA quits or closes the connection
    /// (the filters' close callbacks have run by then), or when <paramref name="stopping"/> or
    /// <see cref="DisposeAsync"/> cuts it. The server owns the socket from here on and disposes it.
    /// </summary>
    public Task ServeAsync(Socket connection, CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        long id = Interlocked.Increment(ref _nextConnectionId);
        var session = new MilterSession(_chain, _options, _log, _filterLog, id);
        var milterConnection = new MilterConnection(connection, session, _options, _log);
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connections[id] = finished.Task;
        return RunServedConnectionAsync(id, milterConnection, finished, stopping);
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        await _cutConnections.CancelAsync().ConfigureAwait(false);
        _cutConnections.Dispose();
    }

    private async Task RunConnectionAsync(long id, MilterConnection connection, TaskCompletionSource finished)
    {
        // Yield first so a burst of accepts is not serialised behind the first read of each connection.
        await Task.Yield();
        try
        {
            await connection.RunAsync(_cutConnections.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A bug, not bad input (that is handled inside): close this connection, say so, keep serving the others.
            Log.ConnectionFailed(_log, id, ex);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            ServerStatistics.ConnectionClosed();
            finished.SetResult();
        }
    }

    private async Task RunServedConnectionAsync(long id, MilterConnection connection, TaskCompletionSource finished, CancellationToken stopping)
    {
        using CancellationTokenSource cut = CancellationTokenSource.CreateLinkedTokenSource(stopping, _cutConnections.Token);
        try
        {
            await connection.RunAsync(cut.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, id, ex);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            finished.SetResult();
        }
    }

    private async Task DrainAsync()
    {
        if (_connections.IsEmpty)
        {
            return;
        }

        Log.Draining(_log, _options.ShutdownGrace.TotalSeconds, _connections.Count);
        Task all = Task.WhenAll(_connections.Values);
        if (await Task.WhenAny(all, Task.Delay(_options.ShutdownGrace)).ConfigureAwait(false) != all)
        {
            Log.CuttingConnections(_log, _connections.Count);
            await _cutConnections.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }
    }

    private static string DescribeEndPoint(Socket socket) => socket.LocalEndPoint switch
    {
        UnixDomainSocketEndPoint unix => $"unix:{unix}",
        System.Net.IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"inet6:{ip.Port}@{ip.Address}",
        System.Net.IPEndPoint ip => $"inet:{ip.Port}@{ip.Address}",
        var other => other?.ToString() ?? "?",
    };

    private void TryDeleteSocket(string path)
    {
        try
        {
            if (UnixSocketFile.IsSocket(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not fatal: the next start replaces a socket nobody listens on.
            Log.SocketNotRemoved(_log, path, ex.Message);
        }
    }

}
