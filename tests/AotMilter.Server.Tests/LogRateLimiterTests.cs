namespace AotMilter.Server.Tests;

public class LogRateLimiterTests
{
    [Fact]
    public void TheFirstLinePassesRepeatsWithinTheIntervalAreCountedAndTheNextIntervalReportsThem()
    {
        var clock = new ManualClock();
        var limiter = new LogRateLimiter(TimeSpan.FromSeconds(10), clock);

        Assert.True(limiter.ShouldLog(out long first));
        Assert.Equal(0, first);
        for (int i = 0; i < 99; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            Assert.False(limiter.ShouldLog(out _));
        }

        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(limiter.ShouldLog(out long held));
        Assert.Equal(99, held);

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(limiter.ShouldLog(out long none));
        Assert.Equal(0, none);
    }

    [Fact]
    public void HoldingALineBackAllocatesNothing()
    {
        var limiter = new LogRateLimiter(TimeSpan.FromHours(1));
        limiter.ShouldLog(out _);
        limiter.ShouldLog(out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            limiter.ShouldLog(out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ThreadsThatFailTogetherWriteOneLineAndEveryRepeatIsCounted()
    {
        var clock = new ManualClock();
        var limiter = new LogRateLimiter(TimeSpan.FromSeconds(10), clock);
        int written = 0;

        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                if (limiter.ShouldLog(out _))
                {
                    Interlocked.Increment(ref written);
                }
            }
        });

        Assert.Equal(1, written);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.ShouldLog(out long held));
        Assert.Equal((8 * 10_000) - 1, held);
    }

    /// <summary>A clock that moves only when told: the limiter reads nothing but its timestamps.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
