using System.Diagnostics;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// One run of the load generator: the message budget (a count or a deadline), the counters every connection adds to,
/// and the event-loop threads (<see cref="BenchLoop"/>) that drive the connections.
/// </summary>
internal sealed class BenchRun
{
    private readonly object _errorLock = new();
    private long _started;
    private volatile bool _stopping;
    private volatile bool _released;
    private long _ok;
    private long _rejected;
    private long _tempFailed;
    private long _discarded;
    private long _mismatched;
    private long _errors;
    private long _connects;
    private long _connectRetries;
    private long _modifications;
    private long _progress;
    private long _headersChecked;
    private long _negotiation;
    private int _idleReady;
    private int _idleSettled;
    private string? _firstError;
    private ManualResetEventSlim? _allSettled;

    public BenchRun(BenchSettings settings)
    {
        Settings = settings;
        Packets = new BenchPackets(settings);
        Address = BenchAddress.From(settings.Socket.ToConnectEndPoint());
        TimeoutTicks = (long)(settings.Timeout.TotalSeconds * Stopwatch.Frequency);
    }

    public BenchSettings Settings { get; }

    public BenchPackets Packets { get; }

    public BenchAddress Address { get; }

    /// <summary>How long a reply (or a connect, or a send) may take, in <see cref="Stopwatch"/> ticks.</summary>
    public long TimeoutTicks { get; }

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Idle mode: the held connections may end now (each sends QUIT and closes).</summary>
    public bool Released => _released;

    private long Deadline { get; set; }

    /// <summary>Runs the load and returns what was measured.</summary>
    public BenchResult Run()
    {
        BenchLoop[] loops = CreateLoops(Settings.Connections);
        var cpuBefore = Environment.CpuUsage.TotalTime;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long begin = Stopwatch.GetTimestamp();
        Deadline = Settings.Duration > TimeSpan.Zero ? begin + (long)(Settings.Duration.TotalSeconds * Stopwatch.Frequency) : 0;
        foreach (BenchLoop loop in loops)
        {
            loop.Start();
        }

        foreach (BenchLoop loop in loops)
        {
            loop.Join();
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(begin);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        TimeSpan cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        var negotiated = Negotiation;
        return new BenchResult(
            Settings, elapsed, Ok: Interlocked.Read(ref _ok), Rejected: Interlocked.Read(ref _rejected), TempFailed: Interlocked.Read(ref _tempFailed),
            Discarded: Interlocked.Read(ref _discarded), Mismatched: Interlocked.Read(ref _mismatched), Errors: Interlocked.Read(ref _errors),
            FirstError: _firstError, Connects: Interlocked.Read(ref _connects), ConnectRetries: Interlocked.Read(ref _connectRetries),
            Modifications: Interlocked.Read(ref _modifications), Progress: Interlocked.Read(ref _progress),
            HeadersChecked: Interlocked.Read(ref _headersChecked), P50: Latency.Percentile(50), P90: Latency.Percentile(90),
            P99: Latency.Percentile(99), Max: Latency.Max, Average: Latency.Average, GeneratorCpu: cpu, GeneratorAllocated: allocated,
            Negotiated: negotiated) { SentMessages = Packets.Messages };
    }

    /// <summary>
    /// Idle mode: opens the connections and, once each is idle or has failed, calls <paramref name="onReady"/>; then
    /// holds them until <paramref name="release"/> completes and closes them with QUIT.
    /// </summary>
    public BenchResult RunIdle(Task release, Action<BenchResult> onReady)
    {
        using var allSettled = new ManualResetEventSlim();
        _allSettled = allSettled;
        BenchLoop[] loops = CreateLoops(Settings.Idle);
        long begin = Stopwatch.GetTimestamp();
        foreach (BenchLoop loop in loops)
        {
            loop.Start();
        }

        allSettled.Wait();
        onReady(IdleResult(Volatile.Read(ref _idleReady), Stopwatch.GetElapsedTime(begin)));
        release.Wait();
        _released = true;
        foreach (BenchLoop loop in loops)
        {
            loop.Join();
        }

        return IdleResult(Volatile.Read(ref _idleReady), Stopwatch.GetElapsedTime(begin));
    }

    /// <summary>Idle mode: one more connection is idle (or has failed for good).</summary>
    public void IdleSettled(bool idle)
    {
        if (idle)
        {
            Interlocked.Increment(ref _idleReady);
        }

        if (Interlocked.Increment(ref _idleSettled) == Settings.Idle)
        {
            _allSettled?.Set();
        }
    }

    /// <summary>Claims the next message of the budget; false once the count, the time or the error limit is reached.</summary>
    public bool TryBeginMessage(out long number)
    {
        number = 0;
        if (_stopping)
        {
            return false;
        }

        if (Deadline != 0 && Stopwatch.GetTimestamp() >= Deadline)
        {
            _stopping = true;
            return false;
        }

        number = Interlocked.Increment(ref _started);
        if (Settings.Messages > 0 && number > Settings.Messages)
        {
            // The count is used up (a message given back by a failed connect may still be claimed again).
            Interlocked.Decrement(ref _started);
            return false;
        }

        return true;
    }

    /// <summary>Gives back a claimed message that was never sent (its connection could not be opened).</summary>
    public void ReturnMessage() => Interlocked.Decrement(ref _started);

    /// <summary>A message got its verdict (the one expected or not: <see cref="Mismatch"/> counted that).</summary>
    public void MessageFinished(TimeSpan latency, BenchVerdict verdict, bool headerChecked)
    {
        Latency.Record((long)latency.TotalMicroseconds);
        switch (verdict)
        {
            case BenchVerdict.Reject:
                Interlocked.Increment(ref _rejected);
                break;
            case BenchVerdict.TempFail:
                Interlocked.Increment(ref _tempFailed);
                break;
            case BenchVerdict.Discard:
                Interlocked.Increment(ref _discarded);
                break;
            default:
                Interlocked.Increment(ref _ok);
                break;
        }

        if (headerChecked)
        {
            Interlocked.Increment(ref _headersChecked);
        }
    }

    public void Connected() => Interlocked.Increment(ref _connects);

    public void ConnectRetried() => Interlocked.Increment(ref _connectRetries);

    public void ModificationSeen() => Interlocked.Increment(ref _modifications);

    public void ProgressSeen() => Interlocked.Increment(ref _progress);

    public void Negotiated(OptionNegotiation reply)
    {
        long packed = ((long)reply.Version << 56) | ((long)((uint)reply.Actions & 0xffffff) << 32) | (uint)reply.Protocol;
        Interlocked.Exchange(ref _negotiation, packed);
    }

    private OptionNegotiation? Negotiation
    {
        get
        {
            long packed = Interlocked.Read(ref _negotiation);
            return packed == 0 ? null : new OptionNegotiation((uint)(packed >> 56), (ActionFlags)((packed >> 32) & 0xffffff), (ProtocolFlags)(uint)packed);
        }
    }

    /// <summary>Counts a verdict other than the one the message must get: an error, and counted apart.</summary>
    public void Mismatch(string message)
    {
        Interlocked.Increment(ref _mismatched);
        Error(message);
    }

    /// <summary>Counts an error; the first three are printed, the first is kept for the summary.</summary>
    public void Error(string message)
    {
        long n = Interlocked.Increment(ref _errors);
        lock (_errorLock)
        {
            _firstError ??= message;
        }

        if (n <= 3)
        {
            Console.Error.WriteLine($"{ProgramName.Value} bench: error: {message}");
        }

        if (n >= Settings.MaxErrors)
        {
            _stopping = true;
        }
    }

    private BenchResult IdleResult(int ready, TimeSpan opened) => new(
        Settings, opened, Ok: ready, Rejected: 0, TempFailed: 0, Discarded: 0, Mismatched: 0, Errors: Interlocked.Read(ref _errors), FirstError: _firstError,
        Connects: Interlocked.Read(ref _connects), ConnectRetries: Interlocked.Read(ref _connectRetries), Modifications: 0, Progress: 0,
        HeadersChecked: 0, P50: 0, P90: 0, P99: 0, Max: 0, Average: 0, GeneratorCpu: Environment.CpuUsage.TotalTime,
        GeneratorAllocated: 0, Negotiated: Negotiation);

    /// <summary>The generator's threads (<see cref="BenchSettings.Threads"/>, at most one per connection), connections dealt out in turn.</summary>
    private BenchLoop[] CreateLoops(int connections)
    {
        var loops = new BenchLoop[Math.Min(Settings.Threads, connections)];
        for (int i = 0; i < loops.Length; i++)
        {
            loops[i] = new BenchLoop(i);
        }

        for (int i = 0; i < connections; i++)
        {
            _ = new BenchConnection(this, loops[i % loops.Length], i);
        }

        return loops;
    }
}

/// <summary>What a run measured.</summary>
internal sealed record BenchResult(
    BenchSettings Settings,
    TimeSpan Elapsed,
    long Ok,
    long Rejected,
    long TempFailed,
    long Discarded,
    long Mismatched,
    long Errors,
    string? FirstError,
    long Connects,
    long ConnectRetries,
    long Modifications,
    long Progress,
    long HeadersChecked,
    long P50,
    long P90,
    long P99,
    long Max,
    double Average,
    TimeSpan GeneratorCpu,
    long GeneratorAllocated,
    OptionNegotiation? Negotiated)
{
    /// <summary>Messages that got a verdict (accepted, rejected, tempfailed or discarded; expected or not).</summary>
    public long Messages => Ok + Rejected + TempFailed + Discarded;

    /// <summary>The messages sent in turn (for the means the report gives).</summary>
    public IReadOnlyList<BenchMessage> SentMessages { get; init; } = [];

    public double MessagesPerSecond => Elapsed > TimeSpan.Zero ? Messages / Elapsed.TotalSeconds : 0;

    public double GeneratorCpuPercent => Elapsed > TimeSpan.Zero ? 100 * GeneratorCpu.TotalSeconds / Elapsed.TotalSeconds : 0;

    public double GeneratorAllocatedPerMessage => Messages > 0 ? (double)GeneratorAllocated / Messages : 0;
}
