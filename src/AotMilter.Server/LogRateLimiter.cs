namespace AotMilter.Server;

/// <summary>
/// Lets one line of a kind through per interval and counts the ones it holds back, so that a condition that repeats
/// many times a second (accept failing at the descriptor limit) writes one line per interval with the number of
/// repeats instead of flooding the log. Safe to share between threads; holding a line back allocates nothing and
/// takes no lock, since it happens exactly when the daemon is busiest.
/// </summary>
internal sealed class LogRateLimiter
{
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private long _nextAllowed = long.MinValue;
    private long _suppressed;

    public LogRateLimiter(TimeSpan interval, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _time = time ?? TimeProvider.System;
        _intervalTicks = (long)(interval.TotalSeconds * _time.TimestampFrequency);
        Interval = interval;
    }

    public TimeSpan Interval { get; }

    /// <summary>
    /// True when the caller should write its line now; <paramref name="suppressed"/> is then the number of lines held
    /// back since the last one written. False: the line is counted and dropped.
    /// </summary>
    public bool ShouldLog(out long suppressed)
    {
        long now = _time.GetTimestamp();
        long next = Volatile.Read(ref _nextAllowed);

        // Of several threads that reach the end of an interval together, only the one whose exchange wins writes.
        if (now < next || Interlocked.CompareExchange(ref _nextAllowed, now + _intervalTicks, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }

        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}
