using System.Diagnostics;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// The connections to one scanner: at most <see cref="MaxConnections"/> scans at once (a scan waits for a free one
/// until its deadline), and up to as many kept-alive idle connections for the next scans, each kept at most
/// <see cref="IdleTimeout"/> (shorter than the daemons' own idle limits, so the scanner rarely closes one under us;
/// one it did close is seen and dropped before use). A scanner without keep-alive (spamd) gets a new connection per
/// scan. One pool per scanner and address lives as long as the settings name it: a reload that changes them makes a
/// new pool and retires the old one, whose connections close as their scans end.
/// </summary>
public sealed class ScannerPool
{
    private static readonly Lock SharedGate = new();
    private static readonly Dictionary<string, ScannerPool> Shared = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _slots;
    private readonly Stack<ScannerConnection> _idle = new();
    private readonly Lock _gate = new();
    private bool _retired;

    public ScannerPool(ScannerAddress address, int maxConnections, bool keepAlive, TimeSpan idleTimeout)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        Address = address;
        MaxConnections = maxConnections;
        KeepAlive = keepAlive;
        IdleTimeout = idleTimeout;
        _slots = new SemaphoreSlim(maxConnections, maxConnections);
    }

    public ScannerAddress Address { get; }

    public int MaxConnections { get; }

    public bool KeepAlive { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>Idle connections kept now.</summary>
    public int IdleCount
    {
        get
        {
            lock (_gate)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>
    /// The pool for <paramref name="scanner"/> at this address with these limits: the same object while the settings
    /// stay the same (settings are parsed anew at every reload), a new one when they change.
    /// </summary>
    public static ScannerPool For(string scanner, ScannerAddress address, int maxConnections, bool keepAlive, TimeSpan idleTimeout)
    {
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(address);
        lock (SharedGate)
        {
            if (Shared.TryGetValue(scanner, out ScannerPool? pool))
            {
                if (pool.Address.Text == address.Text && pool.MaxConnections == maxConnections && pool.KeepAlive == keepAlive && pool.IdleTimeout == idleTimeout)
                {
                    return pool;
                }

                pool.Retire();
            }

            pool = new ScannerPool(address, maxConnections, keepAlive, idleTimeout);
            Shared[scanner] = pool;
            return pool;
        }
    }

    /// <summary>A connection for one scan: an idle one that still looks alive, or a new one. Give it back with <see cref="Return"/>.</summary>
    public async ValueTask<ScannerConnection> RentAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new ScanException(ScanErrorKind.Timeout, $"all {MaxConnections} connections to {Address} were busy until the deadline");
        }

        try
        {
            while (TakeIdle() is ScannerConnection idle)
            {
                if (Stopwatch.GetElapsedTime(idle.IdleSince) < IdleTimeout && idle.LooksAlive())
                {
                    idle.Reused = true;
                    return idle;
                }

                idle.Dispose();
            }

            return await ScannerConnection.ConnectAsync(Address, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>
    /// Gives a rented connection back: kept for the next scan when <paramref name="reusable"/> (the reply was read
    /// completely and the protocol keeps connections), closed otherwise.
    /// </summary>
    public void Return(ScannerConnection connection, bool reusable)
    {
        ArgumentNullException.ThrowIfNull(connection);
        bool kept = false;
        if (reusable && KeepAlive)
        {
            connection.Shrink();
            connection.IdleSince = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                if (!_retired && _idle.Count < MaxConnections)
                {
                    _idle.Push(connection);
                    kept = true;
                }
            }
        }

        if (!kept)
        {
            connection.Dispose();
        }

        _slots.Release();
    }

    /// <summary>Closes the idle connections and keeps no more (settings changed).</summary>
    public void Retire()
    {
        lock (_gate)
        {
            _retired = true;
            while (_idle.TryPop(out ScannerConnection? idle))
            {
                idle.Dispose();
            }
        }
    }

    private ScannerConnection? TakeIdle()
    {
        lock (_gate)
        {
            return _idle.TryPop(out ScannerConnection? idle) ? idle : null;
        }
    }
}
