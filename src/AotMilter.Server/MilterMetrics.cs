using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace AotMilter.Server;

/// <summary>
/// Everything a server counts, in one object the server owns: connections (accepted, open, refused, objects made),
/// messages, verdicts per filter, event and kind, modifications, protocol errors, filter exceptions, callback
/// latency, and where the memory is. The hot path does plain interlocked increments into fields and arrays; the
/// numbers are published at collection time through System.Diagnostics.Metrics (observable instruments, for
/// dotnet-counters and OpenTelemetry), as Prometheus text (<see cref="WritePrometheus"/>) and as a
/// <see cref="Snapshot"/> for the daemon's summary line. Allocation is measured from the moment the server started
/// listening, so start-up costs do not count against messages.
/// </summary>
public sealed class MilterMetrics : IDisposable
{
    /// <summary>Upper bounds of the latency histogram, in seconds (Prometheus "le" buckets; +Inf is implied).</summary>
    private static readonly double[] LatencyBounds = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

    private static readonly int Events = Enum.GetValues<MilterEvent>().Length;
    private static readonly int Kinds = Enum.GetValues<VerdictKind>().Length;

    private readonly string[] _filters;
    private readonly long[] _verdicts;
    private readonly long[] _exceptions;
    private readonly long[] _latencyBuckets;
    private readonly long[] _latencyTicks;
    private long _modifications;
    private long _protocolErrors;
    private long _connectionsAccepted;
    private long _connectionsOpen;
    private long _connectionsRefused;
    private long _connectionObjects;
    private long _messages;
    private long _listeningSince;
    private long _allocatedBeforeListening;
    private readonly Meter _meter;

    public MilterMetrics(FilterChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        _filters = chain.Filters.Select(f => f.Name).ToArray();
        _verdicts = new long[_filters.Length * Events * Kinds];
        _exceptions = new long[_filters.Length];
        _latencyBuckets = new long[Events * (LatencyBounds.Length + 1)];
        _latencyTicks = new long[Events];

        _meter = new Meter("AotMilter", AotMilterVersion.Current);
        _meter.CreateObservableCounter("aotmilter.connections", () => ConnectionsAccepted, description: "MTA connections accepted");
        _meter.CreateObservableUpDownCounter("aotmilter.connections.open", () => ConnectionsOpen, description: "MTA connections open");
        _meter.CreateObservableCounter("aotmilter.messages", () => Messages, description: "Messages (MAIL commands)");
        _meter.CreateObservableCounter("aotmilter.modifications", () => Interlocked.Read(ref _modifications), description: "Modifications sent at end of message");
        _meter.CreateObservableCounter("aotmilter.protocol_errors", () => Interlocked.Read(ref _protocolErrors), description: "Connections closed for bad input");
        _meter.CreateObservableCounter("aotmilter.verdicts", ObserveVerdicts, description: "Verdicts per filter, event and kind");
        _meter.CreateObservableCounter("aotmilter.filter_exceptions", ObserveExceptions, description: "Callbacks that threw");
    }

    /// <summary>The process's memory budget, whose use and limit are published beside the counters (set by the server).</summary>
    public MemoryBudget? Budget { get; set; }

    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    /// <summary>Connections accepted (or handed in) so far; each one's number is its connection id.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    /// <summary>Connections open now.</summary>
    public long ConnectionsOpen => Interlocked.Read(ref _connectionsOpen);

    /// <summary>Connections closed at once because --max-connections or the memory budget was reached.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>
    /// Connection objects (connection, session, context, buffers) made because the pool of closed connections had
    /// none to reuse, with the spares made ahead at the same time: it follows the most connections open at once.
    /// </summary>
    public long ConnectionObjects => Interlocked.Read(ref _connectionObjects);

    /// <summary>Messages (MAIL commands) handled.</summary>
    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>The counters now, with the bytes allocated since listening started.</summary>
    public ServerSnapshot Snapshot()
    {
        long since = Interlocked.Read(ref _listeningSince);
        return new ServerSnapshot(
            ConnectionsAccepted,
            ConnectionsOpen,
            Messages,
            ConnectionObjects,
            since == 0 ? 0 : GC.GetTotalAllocatedBytes(precise: true) - Interlocked.Read(ref _allocatedBeforeListening),
            since == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(since));
    }

    internal void ListeningStarted()
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        if (Interlocked.CompareExchange(ref _listeningSince, Stopwatch.GetTimestamp(), 0) == 0)
        {
            Interlocked.Exchange(ref _allocatedBeforeListening, allocated);
        }
    }

    /// <summary>Counts a new connection; returns its number (the connection id).</summary>
    internal long ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpen);
        return Interlocked.Increment(ref _connectionsAccepted);
    }

    /// <summary>Counts a connection's end; returns how many are still open.</summary>
    internal long ConnectionClosed() => Interlocked.Decrement(ref _connectionsOpen);

    internal void ConnectionRefused() => Interlocked.Increment(ref _connectionsRefused);

    internal void ConnectionObjectMade() => Interlocked.Increment(ref _connectionObjects);

    internal void MessageStarted() => Interlocked.Increment(ref _messages);

    public long Modifications => Interlocked.Read(ref _modifications);

    /// <summary>The count of verdicts of one kind from one filter at one event.</summary>
    public long VerdictCount(int filter, MilterEvent e, VerdictKind kind) => Interlocked.Read(ref _verdicts[Index(filter, e, kind)]);

    /// <summary>Verdicts of one kind, all filters and events together.</summary>
    public long VerdictTotal(VerdictKind kind)
    {
        long total = 0;
        for (int f = 0; f < _filters.Length; f++)
        {
            for (int e = 0; e < Events; e++)
            {
                total += Interlocked.Read(ref _verdicts[Index(f, (MilterEvent)e, kind)]);
            }
        }

        return total;
    }

    internal void Verdict(int filter, MilterEvent e, VerdictKind kind) => Interlocked.Increment(ref _verdicts[Index(filter, e, kind)]);

    internal void Exception(int filter) => Interlocked.Increment(ref _exceptions[filter]);

    internal void Modified(int count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref _modifications, count);
        }
    }

    internal void ProtocolError() => Interlocked.Increment(ref _protocolErrors);

    /// <summary>Records how long a callback took, from <see cref="Stopwatch.GetTimestamp"/> at its start.</summary>
    internal void Latency(MilterEvent e, long started)
    {
        long ticks = Stopwatch.GetTimestamp() - started;
        double seconds = (double)ticks / Stopwatch.Frequency;
        int bucket = 0;
        while (bucket < LatencyBounds.Length && seconds > LatencyBounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _latencyBuckets[((int)e * (LatencyBounds.Length + 1)) + bucket]);
        Interlocked.Add(ref _latencyTicks[(int)e], ticks);
    }

    /// <summary>The counters in the Prometheus text exposition format (version 0.0.4).</summary>
    public void WritePrometheus(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ServerSnapshot s = Snapshot();
        Counter(text, "aotmilter_connections_total", "MTA connections accepted.", s.ConnectionsAccepted);
        Counter(text, "aotmilter_connections_refused_total", "MTA connections closed at once: --max-connections or --max-memory reached.", ConnectionsRefused);
        Gauge(text, "aotmilter_connections_open", "MTA connections open now.", s.ConnectionsOpen);
        Counter(text, "aotmilter_messages_total", "Messages (MAIL commands) handled.", s.Messages);
        Counter(text, "aotmilter_modifications_total", "Modifications sent to the MTA at end of message.", Modifications);
        Counter(text, "aotmilter_protocol_errors_total", "Connections closed because of bad input from the MTA.", ProtocolErrors);
        Gauge(text, "aotmilter_allocated_bytes_per_message", "Managed bytes allocated since listening, per message.", s.AllocatedBytesPerMessage);
        WriteMemory(text);

        text.Append("# HELP aotmilter_verdicts_total Verdicts returned by each filter, per event and kind.\n# TYPE aotmilter_verdicts_total counter\n");
        for (int f = 0; f < _filters.Length; f++)
        {
            for (int e = 0; e < Events; e++)
            {
                for (int k = 0; k < Kinds; k++)
                {
                    long n = Interlocked.Read(ref _verdicts[Index(f, (MilterEvent)e, (VerdictKind)k)]);
                    if (n > 0)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"aotmilter_verdicts_total{{filter=\"{_filters[f]}\",event=\"{Name((MilterEvent)e)}\",verdict=\"{Name((VerdictKind)k)}\"}} {n}\n");
                    }
                }
            }
        }

        text.Append("# HELP aotmilter_filter_exceptions_total Callbacks that threw (each answered with the fallback verdict).\n# TYPE aotmilter_filter_exceptions_total counter\n");
        for (int f = 0; f < _filters.Length; f++)
        {
            text.Append(CultureInfo.InvariantCulture, $"aotmilter_filter_exceptions_total{{filter=\"{_filters[f]}\"}} {Interlocked.Read(ref _exceptions[f])}\n");
        }

        text.Append("# HELP aotmilter_callback_seconds Time the filters took to answer an event.\n# TYPE aotmilter_callback_seconds histogram\n");
        for (int e = 0; e < Events; e++)
        {
            long cumulative = 0;
            int offset = e * (LatencyBounds.Length + 1);
            for (int b = 0; b <= LatencyBounds.Length; b++)
            {
                cumulative += Interlocked.Read(ref _latencyBuckets[offset + b]);
            }

            if (cumulative == 0)
            {
                continue;
            }

            string name = Name((MilterEvent)e);
            long running = 0;
            for (int b = 0; b < LatencyBounds.Length; b++)
            {
                running += Interlocked.Read(ref _latencyBuckets[offset + b]);
                text.Append(CultureInfo.InvariantCulture, $"aotmilter_callback_seconds_bucket{{event=\"{name}\",le=\"{LatencyBounds[b]}\"}} {running}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"aotmilter_callback_seconds_bucket{{event=\"{name}\",le=\"+Inf\"}} {cumulative}\n");
            text.Append(CultureInfo.InvariantCulture, $"aotmilter_callback_seconds_sum{{event=\"{name}\"}} {(double)Interlocked.Read(ref _latencyTicks[e]) / Stopwatch.Frequency}\n");
            text.Append(CultureInfo.InvariantCulture, $"aotmilter_callback_seconds_count{{event=\"{name}\"}} {cumulative}\n");
        }

        // What the filters count themselves (scanners' scans and latency), after the daemon's own families.
        AotMilter.Metrics.FilterMetrics.WritePrometheus(text);
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>
    /// Where the memory is: what peers hold against <c>--max-memory</c>, the managed heap as the last collection left
    /// it (live objects, and the free space between them), what the GC keeps committed (freed regions it keeps for
    /// reuse count here until it decommits them), and the resident size. A leak shows as growing live bytes; a
    /// resident size that moves while they stay put is the GC's retained regions.
    /// </summary>
    private void WriteMemory(StringBuilder text)
    {
        if (Budget is MemoryBudget budget)
        {
            Gauge(text, "aotmilter_memory_reserved_bytes", "Bytes peers hold now against --max-memory (large frames, chain copies, macros).", budget.Used);
            Gauge(text, "aotmilter_memory_limit_bytes", "The --max-memory limit.", budget.Limit);
        }

        // The heap as the last collection left it: a daemon that allocates nothing per message may not have collected
        // at all yet, and then there is nothing to say (the series appear after the first collection).
        Counter(text, "aotmilter_gc_collections_total", "Garbage collections (of any generation) since start.", GC.CollectionCount(0));
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        if (gc.Index > 0)
        {
            Gauge(text, "aotmilter_gc_heap_live_bytes", "Managed heap in use after the last collection, free space between objects excluded.", gc.HeapSizeBytes - gc.FragmentedBytes);
            Gauge(text, "aotmilter_gc_heap_fragmented_bytes", "Free space between objects on the managed heap after the last collection.", gc.FragmentedBytes);
            Gauge(text, "aotmilter_gc_committed_bytes", "Memory the GC has committed, its retained free regions included.", gc.TotalCommittedBytes);
        }
        if (ResidentBytes() is long resident)
        {
            Gauge(text, "process_resident_memory_bytes", "Resident memory size in bytes.", resident);
        }
    }

    /// <summary>The resident size from /proc/self/statm (its second field, in pages); null where there is no /proc.</summary>
    private static long? ResidentBytes()
    {
        try
        {
            string statm = File.ReadAllText("/proc/self/statm");
            string[] fields = statm.Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long pages) ? pages * Environment.SystemPageSize : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private int Index(int filter, MilterEvent e, VerdictKind kind) => (((filter * Events) + (int)e) * Kinds) + (int)kind;

    private IEnumerable<Measurement<long>> ObserveVerdicts()
    {
        for (int f = 0; f < _filters.Length; f++)
        {
            for (int e = 0; e < Events; e++)
            {
                for (int k = 0; k < Kinds; k++)
                {
                    long n = Interlocked.Read(ref _verdicts[Index(f, (MilterEvent)e, (VerdictKind)k)]);
                    if (n > 0)
                    {
                        yield return new Measurement<long>(n,
                            new KeyValuePair<string, object?>("filter", _filters[f]),
                            new KeyValuePair<string, object?>("event", Name((MilterEvent)e)),
                            new KeyValuePair<string, object?>("verdict", Name((VerdictKind)k)));
                    }
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveExceptions()
    {
        for (int f = 0; f < _filters.Length; f++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _exceptions[f]), new KeyValuePair<string, object?>("filter", _filters[f]));
        }
    }

    private static string Name(MilterEvent e) => e switch
    {
        MilterEvent.MailFrom => "mail",
        MilterEvent.RcptTo => "rcpt",
        MilterEvent.EndOfHeaders => "eoh",
        MilterEvent.EndOfMessage => "eom",
        _ => e.ToString().ToLowerInvariant(),
    };

    private static string Name(VerdictKind k) => k.ToString().ToLowerInvariant();

    private static void Counter(StringBuilder text, string name, string help, long value)
        => text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Gauge(StringBuilder text, string name, string help, double value)
        => text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}
