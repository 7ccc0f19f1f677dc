using System.Globalization;
using System.Text;
using AotMilter.Metrics;
using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Hosting;

/// <summary>
/// The bound on log lines waiting for their destination, kept in front of ZLogger's own queue so that what it drops is
/// counted: when the destination stops taking lines (a stalled journal, a full disk, a pipe nobody reads), at most
/// <see cref="Capacity"/> wait, later ones are dropped, and the count of dropped lines is published
/// (<c>aotmilter_log_lines_dropped_total</c>) and, once the destination takes lines again, logged in one warning
/// before the next line, so that a gap in the log says that it is one and how big. Waiting instead would stop the
/// I/O threads, and the mail.
/// </summary>
internal sealed partial class LogQueue : ILoggerProvider, IMetricsSource
{
    private readonly ILoggerProvider _inner;
    private long _queued;
    private long _dropped;
    private long _unreported;

    /// <param name="capacity">Lines that may wait at once.</param>
    /// <param name="createInner">
    /// The provider that writes, given the callback its formatter calls as it takes each line off its queue.
    /// </param>
    public LogQueue(int capacity, Func<Action, ILoggerProvider> createInner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentNullException.ThrowIfNull(createInner);
        Capacity = capacity;
        _inner = createInner(Taken);
        FilterMetrics.Register(this);
    }

    public int Capacity { get; }

    /// <summary>Lines dropped since the start because <see cref="Capacity"/> lines were already waiting.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Lines handed to the writer and not yet taken by it.</summary>
    public long Queued => Volatile.Read(ref _queued);

    public ILogger CreateLogger(string categoryName) => new BoundedLogger(this, _inner.CreateLogger(categoryName));

    public void WritePrometheus(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text.Append("# HELP aotmilter_log_lines_dropped_total Log lines dropped because the log destination did not take them and ")
            .Append(Capacity.ToString(CultureInfo.InvariantCulture)).Append(" already waited.\n")
            .Append("# TYPE aotmilter_log_lines_dropped_total counter\naotmilter_log_lines_dropped_total ")
            .Append(Dropped.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("# HELP aotmilter_log_lines_queued Log lines waiting for the log destination.\n")
            .Append("# TYPE aotmilter_log_lines_queued gauge\naotmilter_log_lines_queued ")
            .Append(Queued.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>Reports drops not yet logged, then lets the writer write out what waits.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _unreported) > 0)
        {
            ReportDropped(_inner.CreateLogger("aotmilter"));
        }

        _inner.Dispose();
    }

    // Called by the writer's formatter, once per line, as it takes the line off its queue.
    private void Taken() => Interlocked.Decrement(ref _queued);

    /// <summary>Whether a line may join the queue; counts it in, or counts it dropped.</summary>
    private bool TryEnter(ILogger inner)
    {
        long queued = Volatile.Read(ref _queued);
        if (queued >= Capacity)
        {
            Interlocked.Increment(ref _dropped);
            Interlocked.Increment(ref _unreported);
            return false;
        }

        // Reported once the queue has half drained: the destination takes lines again, and the warning is not
        // itself the next line dropped.
        if (Volatile.Read(ref _unreported) > 0 && queued < Capacity / 2)
        {
            ReportDropped(inner);
        }

        Interlocked.Increment(ref _queued);
        return true;
    }

    private void ReportDropped(ILogger inner)
    {
        long count = Interlocked.Exchange(ref _unreported, 0);
        if (count > 0)
        {
            Interlocked.Increment(ref _queued);
            LinesDropped(inner, count, Capacity);
        }
    }

    [ZLoggerMessage(LogLevel.Warning, "{count} log lines dropped: the log destination did not take them while {capacity} lines waited")]
    private static partial void LinesDropped(ILogger logger, long count, int capacity);

    /// <summary>A logger that lets a line through to the writer only when the queue has room for it.</summary>
    private sealed class BoundedLogger(LogQueue queue, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (inner.IsEnabled(logLevel) && queue.TryEnter(inner))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
