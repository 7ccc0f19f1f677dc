using System.Diagnostics;
using System.Runtime.CompilerServices;
using AotMilter.Filters.Redis;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Stores;

/// <summary>
/// What a filter answers when its store fails: the <c>on-error</c> verdict, the failure counted, and one log line per
/// <see cref="LogInterval"/> for all the filters of one server together (with how many failures it stands for), so
/// that a Redis outage under load does not write a line per message. The interval is kept per server (by the filters'
/// logger, which a server shares among its connections), not per process: two servers in one process each say it.
/// </summary>
public static partial class StoreFailure
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>The reply of <c>on-error = tempfail</c>: the store's state is not the client's business.</summary>
    public static readonly SmtpReply TempFailReply = SmtpReply.Create(451, "4.3.0", "Temporary local problem, try again later");

    private static readonly ConditionalWeakTable<ILogger, Interval> s_intervals = [];

    public static Verdict Handle(StoreSettings settings, StoreMetrics metrics, RedisException failure, MilterContext context)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(context);
        metrics.Failed(failure.Reason);
        Interval interval = s_intervals.GetValue(context.Logger, static _ => new Interval());
        long now = Stopwatch.GetTimestamp();
        long last = Interlocked.Read(ref interval.LastLog);
        if ((last == 0 || Stopwatch.GetElapsedTime(last, now) >= LogInterval) && Interlocked.CompareExchange(ref interval.LastLog, now, last) == last)
        {
            long more = Interlocked.Exchange(ref interval.Unlogged, 0);
            Failed(context.Logger, context.ConnectionId, metrics.Filter, metrics.Store, failure.Message, settings.OnError, more);
        }
        else
        {
            Interlocked.Increment(ref interval.Unlogged);
        }

        return settings.OnError == StoreErrorAction.Accept ? Verdict.Continue : Verdict.TempFailWith(TempFailReply);
    }

    private sealed class Interval
    {
        public long LastLog;
        public long Unlogged;
    }

    [LoggerMessage(EventId = 550, Level = LogLevel.Warning,
        Message = "[{ConnectionId}] {Filter}: the {Store} store failed: {Reason}; on-error = {Action} (and {Unlogged} more failures since the last line)")]
    private static partial void Failed(ILogger logger, long connectionId, string filter, string store, string reason, StoreErrorAction action, long unlogged);
}
