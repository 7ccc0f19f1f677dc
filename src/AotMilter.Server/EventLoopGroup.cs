namespace AotMilter.Server;

/// <summary>
/// A set of I/O threads: one <see cref="EventLoop"/> per core by default, started on first use. A server runs on the
/// group in its options (<see cref="MilterServerOptions.EventLoops"/>), or on <see cref="Shared"/>, which every server
/// of the process uses unless told otherwise (as the runtime shares its socket engine). The threads live as long as
/// the process: a group is made once, at start-up, not per server.
/// </summary>
public sealed class EventLoopGroup
{
    private static readonly Lazy<EventLoopGroup> s_shared = new(() => new EventLoopGroup());

    private readonly object _gate = new();
    private readonly int _threadCount;
    private readonly TimeSpan _busyPoll;
    private readonly Func<bool>? _otherWorkWaiting;
    private EventLoop[]? _loops;
    private int _next;

    /// <param name="threadCount">How many I/O threads (0: one per core).</param>
    /// <param name="busyPoll">
    /// How long a loop under load looks for its next event before it sleeps (null: <see cref="DefaultBusyPoll"/>;
    /// zero: never; see <see cref="BusyPoll"/>).
    /// </param>
    /// <param name="otherWorkWaiting">
    /// Whether other threads of the process have work waiting (the log writer's lines): then a loop sleeps at once
    /// instead of polling, so that they get the core (null: no such work).
    /// </param>
    public EventLoopGroup(int threadCount = 0, TimeSpan? busyPoll = null, Func<bool>? otherWorkWaiting = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threadCount);
        _busyPoll = busyPoll ?? DefaultBusyPoll;
        ArgumentOutOfRangeException.ThrowIfLessThan(_busyPoll, TimeSpan.Zero, nameof(busyPoll));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_busyPoll, MaxBusyPoll, nameof(busyPoll));
        _threadCount = threadCount > 0 ? threadCount : Environment.ProcessorCount;
        _otherWorkWaiting = otherWorkWaiting;
    }

    /// <summary>
    /// How long a loop under load looks for its next event before it sleeps, unless told otherwise: 50 µs, or never
    /// when the process may use only one CPU (its affinity or its CPU quota), where a loop that polls only takes the
    /// core from the MTA or the load it waits for, or spends the quota.
    /// </summary>
    public static TimeSpan DefaultBusyPoll { get; } = Environment.ProcessorCount > 1 ? TimeSpan.FromMicroseconds(50) : TimeSpan.Zero;

    /// <summary>The longest busy poll a group takes: beyond it a poll costs more than any wake-up it saves.</summary>
    public static TimeSpan MaxBusyPoll { get; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The process's default group, one thread per core.</summary>
    public static EventLoopGroup Shared => s_shared.Value;

    /// <summary>How many I/O threads run (or will, once the group is first used).</summary>
    public int ThreadCount => _threadCount;

    internal EventLoop[] Loops
    {
        get
        {
            if (Volatile.Read(ref _loops) is { } loops)
            {
                return loops;
            }

            lock (_gate)
            {
                if (_loops is null)
                {
                    var created = new EventLoop[_threadCount];
                    for (int i = 0; i < created.Length; i++)
                    {
                        created[i] = new EventLoop(i, _busyPoll, _otherWorkWaiting);
                    }

                    Volatile.Write(ref _loops, created);
                }

                return _loops;
            }
        }
    }

    /// <summary>The next loop in turn, for connections that do not arrive through a loop's own accept.</summary>
    internal EventLoop Next()
    {
        EventLoop[] loops = Loops;
        return loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Length)];
    }
}
