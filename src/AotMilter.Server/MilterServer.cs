using AotMilter.Server.Interop;
using System.Net.Sockets;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// Listens on one socket and runs a filter chain for every MTA connection. <see cref="Start"/> binds (so errors such
/// as "address in use" surface before a daemon reports ready); <see cref="RunAsync"/> accepts until stopped, then lets
/// in-flight connections finish within the grace period and removes the unix socket.
/// </summary>
public sealed partial class MilterServer : IAsyncDisposable, IConnectionOwner
{
    private readonly FilterChain _chain;
    private readonly MilterServerOptions _options;
    private readonly EventLoopGroup _loops;
    private readonly ILogger _log;
    private readonly ILogger _filterLog;
    // Closed connections wait for the next ones: as many as were open at once, up to this many per I/O thread.
    private const int PooledConnectionsPerThread = 256;

    private readonly MemoryBudget _budget;
    private ConnectionPool? _pool;
    private TaskCompletionSource? _drained;
    private int _abandoned;
    private long _madeForAccepts;
    private Socket? _listener;
    private bool _inherited;
    private string? _inheritedPath;
    private UnixSocketFile? _socketFile;

    public MilterServer(FilterChain chain, MilterServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _loops = options.EventLoops;
        _log = loggerFactory.CreateLogger("aotmilter");
        _filterLog = loggerFactory.CreateLogger("filter");
        _budget = new MemoryBudget(options.MaxMemory);
        Metrics = new MilterMetrics(chain) { Budget = _budget };
    }

    /// <summary>The bytes peers may make this server hold beyond each connection's working set (<see cref="MilterServerOptions.MaxMemory"/>).</summary>
    public MemoryBudget Budget => _budget;

    // Under a flood of connections beyond the limits, one line per interval says what happens.
    private readonly LogRateLimiter _refusals = new(TimeSpan.FromSeconds(10));

    /// <summary>What this server counts (connections, messages, verdicts, latency, memory): one object, published by the host.</summary>
    public MilterMetrics Metrics { get; }

    /// <summary>Connections accepted so far.</summary>
    public long ConnectionsAccepted => Metrics.ConnectionsAccepted;

    /// <summary>Accepted connections served by a pooled connection of an earlier one.</summary>
    internal long ConnectionsReused => Metrics.ConnectionsAccepted - Interlocked.Read(ref _madeForAccepts);

    /// <summary>Closed connections kept for the next ones.</summary>
    internal int PooledConnections => _pool?.Count ?? 0;

    /// <summary>Connections open now.</summary>
    public int ConnectionsOpen => (int)Metrics.ConnectionsOpen;

    /// <summary>
    /// Closed connections whose callback was abandoned at its deadline and has not returned: each still holds its
    /// session, so they count toward <see cref="MilterServerOptions.MaxConnections"/> until it does.
    /// </summary>
    public int AbandonedCallbacks => Volatile.Read(ref _abandoned);

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
                UnixSocketFile.Find(path).SetAccess(_options.SocketMode, _options.SocketGroup, owner: uint.MaxValue);
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
            if (spec.Kind == SocketKind.Unix)
            {
                _socketFile = UnixSocketFile.Bind(socket, spec.Path!, _options.SocketMode, _options.SocketGroup, _options.SocketOwner ?? uint.MaxValue);
            }
            else
            {
                socket.Bind(spec.ToEndPoint());
            }

            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _listener = socket;
        Metrics.ListeningStarted();
        Log.Listening(_log, spec.ToString(), _chain.Names);
    }

    /// <summary>Accepts connections until <paramref name="stopping"/> fires, then drains and cleans up.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        Socket listener = _listener ?? throw new InvalidOperationException("Start must be called first");
        listener.Blocking = false;
        var acceptors = new List<Acceptor>();
        _pool = new ConnectionPool(PooledConnectionsPerThread * _loops.Loops.Length, _options.PoolTrimInterval);

        try
        {
            // Every loop accepts for itself (EPOLLEXCLUSIVE wakes one of them): a connection lives on the thread
            // that accepted it, with no hand-over.
            foreach (EventLoop loop in _loops.Loops)
            {
                var acceptor = new Acceptor(this, loop, listener);
                acceptors.Add(acceptor);
                loop.Post(acceptor);
            }

            await Task.WhenAll(acceptors.Select(a => a.Started)).ConfigureAwait(false);
            if (_log.IsEnabled(LogLevel.Information))
            {
                // Here, with the loops already serving, not before the socket listens: filling the pool was a fifth
                // of the managed start-up (1-1.7 ms of 18 on a 2-core VM), and mail need not wait for it.
                ConnectionSummary.PrefillEntryPool();
            }

            try
            {
                await Task.Delay(Timeout.Infinite, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stop requested.
            }
        }
        finally
        {
            foreach (Acceptor acceptor in acceptors)
            {
                acceptor.Stop();
            }

            await Task.WhenAll(acceptors.Select(a => a.Stopped)).ConfigureAwait(false);
            listener.Dispose();
            await DrainAsync().ConfigureAwait(false);
            if (_socketFile is not null)
            {
                TryDeleteSocket(_socketFile);
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
        connection.Blocking = false;
        long id = Metrics.ConnectionOpened();
        Metrics.ConnectionObjectMade();
        var session = new MilterSession(_chain, _options, _log, _filterLog, id, Metrics, _budget);
        var served = new ServedConnection(this);
        EventLoop loop = _loops.Next();
        var milterConnection = new MilterConnection(loop, (int)connection.SafeHandle.DangerousGetHandle(), connection, session, _options, _log, served, budget: _budget);
        served.Connection = milterConnection;
        milterConnection.FlowedContext = ExecutionContext.Capture();
        loop.Post(milterConnection);
        if (stopping.CanBeCanceled)
        {
            served.StopRegistration = stopping.Register(static state =>
            {
                var s = (ServedConnection)state!;
                s.Connection!.Loop.Post(new LoopAction(() => s.Connection.Cut("daemon shutting down")));
            }, served);
        }

        return served.Finished.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        await CutConnectionsAsync().ConfigureAwait(false);
        Metrics.Dispose();
    }

    /// <summary>A connection accepted on <paramref name="loop"/>'s thread: build its session and start it there.</summary>
    private void OnAccepted(EventLoop loop, int fd)
    {
        // A connection that could not even receive one packet of the largest size is not taken on.
        bool full = ConnectionsOpen + Volatile.Read(ref _abandoned) >= _options.MaxConnections;
        if (full || !_budget.HasRoomFor((long)_options.MaxPacketSize + MilterFrameReader.HeaderSize))
        {
            // Closed at once rather than left in the backlog: the MTA applies its default action now instead of
            // after its connect timeout.
            Libc.Close(fd);
            Metrics.ConnectionRefused();
            if (_refusals.ShouldLog(out long suppressed))
            {
                Log.ConnectionsRefused(_log, full
                    ? $"--max-connections {_options.MaxConnections} reached ({Volatile.Read(ref _abandoned)} of them closed connections whose abandoned callback has not returned)"
                    : $"the memory budget (--max-memory {_options.MaxMemory} bytes) has no room for another connection", suppressed, _refusals.Interval.TotalSeconds);
            }

            return;
        }

        if (_options.Socket.Kind != SocketKind.Unix)
        {
            Libc.SetTcpNoDelay(fd);
        }

        long id = Metrics.ConnectionOpened();
        ConnectionPool pool = _pool!;
        if (pool.TryRent(out MilterConnection? connection))
        {
            connection.Reuse(loop, fd, id);
        }
        else
        {
            // Counted here, on the rare path, rather than each reuse: spares are made too, so objects made are not
            // accepts that found the pool empty.
            Interlocked.Increment(ref _madeForAccepts);
            connection = MakeConnection(loop, fd, id, pool);

            // The pool was empty: more connections are open at once than ever before. A few spares made now serve the
            // next peaks from the pool (the number open at once wanders by a few under a steady load), so the objects
            // are made while the load grows, not one at a time for the rest of the run.
            for (int spare = 0; spare < ConnectionPool.AheadOfPeak; spare++)
            {
                pool.Return(MakeConnection(loop, fd: -1, connectionId: 0, pool));
            }
        }

        connection.Start();
    }

    private MilterConnection MakeConnection(EventLoop loop, int fd, long connectionId, ConnectionPool pool)
    {
        Metrics.ConnectionObjectMade();
        var session = new MilterSession(_chain, _options, _log, _filterLog, connectionId, Metrics, _budget);
        return new MilterConnection(loop, fd, null, session, _options, _log, this, pool, _budget);
    }

    void IConnectionOwner.ConnectionClosed(MilterConnection connection)
    {
        if (connection.IsAbandoned)
        {
            Interlocked.Increment(ref _abandoned);
        }

        ConnectionEnded();
    }

    void IConnectionOwner.AbandonedCallbackReturned(MilterConnection connection) => Interlocked.Decrement(ref _abandoned);

    private void ConnectionEnded()
    {
        if (Metrics.ConnectionClosed() == 0)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    private async Task DrainAsync()
    {
        if (ConnectionsOpen == 0)
        {
            return;
        }

        Log.Draining(_log, _options.ShutdownGrace.TotalSeconds, ConnectionsOpen);
        if (!await WaitForNoConnectionsAsync(_options.ShutdownGrace).ConfigureAwait(false))
        {
            Log.CuttingConnections(_log, ConnectionsOpen);
            await CutConnectionsAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes every connection of this server (callbacks that are running finish first), waiting up to 2 s.</summary>
    private async Task CutConnectionsAsync()
    {
        if (ConnectionsOpen == 0)
        {
            return;
        }

        foreach (EventLoop loop in _loops.Loops)
        {
            loop.Post(new LoopAction(() => loop.ForEach(static (handler, server) =>
            {
                if (handler is MilterConnection connection && connection.Owner is { } owner && (owner == server || owner is ServedConnection s && s.Server == server))
                {
                    connection.Cut("daemon shutting down");
                }
            }, (object)this)));
        }

        await WaitForNoConnectionsAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
    }

    private async Task<bool> WaitForNoConnectionsAsync(TimeSpan limit)
    {
        TaskCompletionSource? current = Volatile.Read(ref _drained);
        if (current is null || current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }

        TaskCompletionSource drained = Volatile.Read(ref _drained)!;
        if (ConnectionsOpen == 0)
        {
            return true;
        }

        return await Task.WhenAny(drained.Task, Task.Delay(limit)).ConfigureAwait(false) == drained.Task;
    }

    /// <summary>A connection handed in through <see cref="ServeAsync"/>: its own completion, its own stop token.</summary>
    private sealed class ServedConnection(MilterServer server) : IConnectionOwner
    {
        public MilterServer Server { get; } = server;

        public MilterConnection? Connection { get; set; }

        public CancellationTokenRegistration StopRegistration { get; set; }

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ConnectionClosed(MilterConnection connection)
        {
            StopRegistration.Dispose();
            Server.ConnectionEnded();
            Finished.TrySetResult();
        }

        // A served connection is not counted against --max-connections (its caller accepted it), nor is its end.
        public void AbandonedCallbackReturned(MilterConnection connection)
        {
        }
    }

    private static string DescribeEndPoint(Socket socket) => socket.LocalEndPoint switch
    {
        UnixDomainSocketEndPoint unix => $"unix:{unix}",
        System.Net.IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"inet6:{ip.Port}@{ip.Address}",
        System.Net.IPEndPoint ip => $"inet:{ip.Port}@{ip.Address}",
        var other => other?.ToString() ?? "?",
    };

    private void TryDeleteSocket(UnixSocketFile socketFile)
    {
        try
        {
            if (!socketFile.RemoveIfStillOurs())
            {
                Log.SocketReplaced(_log, socketFile.Path);
            }
        }
        catch (IOException ex)
        {
            // Not fatal: the next start replaces a socket nobody listens on.
            Log.SocketNotRemoved(_log, socketFile.Path, ex.Message);
        }
    }

}
