using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AotMilter.Protocol;

namespace AotMilter.Cli.Bench;

/// <summary>
/// One run of the load generator: the message budget (a count or a deadline), the counters every connection adds to,
/// and a watchdog that ends the run on time and closes connections whose milter stopped answering.
/// </summary>
internal sealed class BenchRun
{
    private static readonly TimeSpan WatchdogInterval = TimeSpan.FromMilliseconds(100);

    private readonly object _errorLock = new();
    private long _started;
    private volatile bool _stopping;
    private long _ok;
    private long _rejected;
    private long _errors;
    private long _connects;
    private long _connectRetries;
    private long _modifications;
    private long _progress;
    private long _headersChecked;
    private long _negotiation;
    private string? _firstError;

    public BenchRun(BenchSettings settings)
    {
        Settings = settings;
        Packets = new BenchPackets(settings);
        EndPoint = settings.Socket.ToConnectEndPoint();
    }

    public BenchSettings Settings { get; }

    public BenchPackets Packets { get; }

    public EndPoint EndPoint { get; }

    public LatencyHistogram Latency { get; } = new();

    private long Deadline { get; set; }

    /// <summary>Runs the load and returns what was measured.</summary>
    public BenchResult Run()
    {
        var connections = new BenchConnection[Settings.Connections];
        for (int i = 0; i < connections.Length; i++)
        {
            connections[i] = new BenchConnection(this, i);
        }

        var cpuBefore = Environment.CpuUsage.TotalTime;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long begin = Stopwatch.GetTimestamp();
        Deadline = Settings.Duration > TimeSpan.Zero ? begin + (long)(Settings.Duration.TotalSeconds * Stopwatch.Frequency) : 0;
        using (var watchdog = new Timer(_ => Watch(connections), null, WatchdogInterval, WatchdogInterval))
        {
            var tasks = new Task[connections.Length];
            for (int i = 0; i < connections.Length; i++)
            {
                tasks[i] = connections[i].RunAsync();
            }

            Task.WaitAll(tasks);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(begin);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        TimeSpan cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        var negotiated = Negotiation;
        return new BenchResult(
            Settings, elapsed, Ok: Interlocked.Read(ref _ok), Rejected: Interlocked.Read(ref _rejected), Errors: Interlocked.Read(ref _errors),
            FirstError: _firstError, Connects: Interlocked.Read(ref _connects), ConnectRetries: Interlocked.Read(ref _connectRetries),
            Modifications: Interlocked.Read(ref _modifications), Progress: Interlocked.Read(ref _progress),
            HeadersChecked: Interlocked.Read(ref _headersChecked), P50: Latency.Percentile(50), P90: Latency.Percentile(90),
            P99: Latency.Percentile(99), Max: Latency.Max, Average: Latency.Average, GeneratorCpu: cpu, GeneratorAllocated: allocated,
            Negotiated: negotiated);
    }

    /// <summary>
    /// Idle mode: opens the connections and, once each is idle or has failed, calls <paramref name="onReady"/>; then
    /// holds them until <paramref name="release"/> completes and closes them with QUIT.
    /// </summary>
    public BenchResult RunIdle(Task release, Action<BenchResult> onReady)
    {
        var connections = new BenchConnection[Settings.Idle];
        var tasks = new Task[connections.Length];
        int ready = 0;
        int settled = 0;
        var allSettled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long begin = Stopwatch.GetTimestamp();
        using var watchdog = new Timer(_ => Watch(connections), null, WatchdogInterval, WatchdogInterval);
        for (int i = 0; i < connections.Length; i++)
        {
            connections[i] = new BenchConnection(this, i);
        }

        for (int i = 0; i < connections.Length; i++)
        {
            tasks[i] = connections[i].RunIdleAsync(release, idle =>
            {
                if (idle)
                {
                    Interlocked.Increment(ref ready);
                }

                if (Interlocked.Increment(ref settled) == connections.Length)
                {
                    allSettled.TrySetResult();
                }
            });
        }

        allSettled.Task.Wait();
        onReady(IdleResult(Volatile.Read(ref ready), Stopwatch.GetElapsedTime(begin)));
        Task.WaitAll(tasks);
        return IdleResult(Volatile.Read(ref ready), Stopwatch.GetElapsedTime(begin));
    }

    public Socket CreateSocket()
    {
        if (Settings.Socket.Kind == SocketKind.Unix)
        {
            return new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }

        var socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        return socket;
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

    public void MessageFinished(TimeSpan latency, bool rejected, bool headerChecked)
    {
        Latency.Record((long)latency.TotalMicroseconds);
        Interlocked.Increment(ref rejected ? ref _rejected : ref _ok);
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
            Console.Error.WriteLine($"aotmilter bench: error: {message}");
        }

        if (n >= Settings.MaxErrors)
        {
            _stopping = true;
        }
    }

    private BenchResult IdleResult(int ready, TimeSpan opened) => new(
        Settings, opened, Ok: ready, Rejected: 0, Errors: Interlocked.Read(ref _errors), FirstError: _firstError,
        Connects: Interlocked.Read(ref _connects), ConnectRetries: Interlocked.Read(ref _connectRetries), Modifications: 0, Progress: 0,
        HeadersChecked: 0, P50: 0, P90: 0, P99: 0, Max: 0, Average: 0, GeneratorCpu: Environment.CpuUsage.TotalTime,
        GeneratorAllocated: 0, Negotiated: Negotiation);

    private void Watch(BenchConnection[] connections)
    {
        long now = Stopwatch.GetTimestamp();
        if (Deadline != 0 && now >= Deadline)
        {
            _stopping = true;
        }

        long timeout = (long)(Settings.Timeout.TotalSeconds * Stopwatch.Frequency);
        foreach (BenchConnection c in connections)
        {
            c?.CheckTimeout(now, timeout);
        }
    }
}

/// <summary>What a run measured.</summary>
internal sealed record BenchResult(
    BenchSettings Settings,
    TimeSpan Elapsed,
    long Ok,
    long Rejected,
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
    public long Messages => Ok + Rejected;

    public double MessagesPerSecond => Elapsed > TimeSpan.Zero ? Messages / Elapsed.TotalSeconds : 0;

    public double GeneratorCpuPercent => Elapsed > TimeSpan.Zero ? 100 * GeneratorCpu.TotalSeconds / Elapsed.TotalSeconds : 0;

    public double GeneratorAllocatedPerMessage => Messages > 0 ? (double)GeneratorAllocated / Messages : 0;
}
