using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// Logs refused connections at most once per interval, with how many there were: under a flood, one line every ten
/// seconds says what is happening without filling the disk. Any thread.
/// </summary>
internal sealed class RefusalLog(ILogger log)
{
    private const long IntervalMilliseconds = 10_000;

    private long _refused;
    private long _nextLineAt;

    public void Refused(string reason)
    {
        long refused = Interlocked.Increment(ref _refused);
        long now = Environment.TickCount64;
        long next = Volatile.Read(ref _nextLineAt);
        if (now >= next && Interlocked.CompareExchange(ref _nextLineAt, now + IntervalMilliseconds, next) == next)
        {
            Interlocked.Add(ref _refused, -refused);
            Log.ConnectionsRefused(log, reason, refused, IntervalMilliseconds / 1000);
        }
    }
}
