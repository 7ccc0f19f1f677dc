using System.Diagnostics;
using AotMilter.Filters.Greylist;
using AotMilter.Filters.RateLimit;
using AotMilter.Filters.Redis;
using AotMilter.Filters.Tests.Infrastructure;

namespace AotMilter.Filters.Tests;

/// <summary>The Redis client and stores against a real redis-server, started for this class and stopped, paused and restarted by its tests.</summary>
public sealed class RedisStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(1);
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task ALimitOfNLetsExactlyNThroughWithOneEVALSHAPerCall()
    {
        IRateLimitStore store = RateLimitStore();
        RateLimitRequest[] one = [new("sender:a@example.net", 3, TimeSpan.FromHours(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        long before = await _redis.CommandCallsAsync("evalsha");
        int[] results = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ => await store.TryAcquireAsync(one)));
        Assert.Equal(2, results.Count(r => r == -1));
        Assert.Equal(8, results.Count(r => r == 0));
        Assert.Equal(before + 10, await _redis.CommandCallsAsync("evalsha"));
        Assert.Equal(1, await _redis.CommandCallsAsync("script|load"));
    }

    [Fact]
    public async Task AMessageOverOneLimitCountsOnNoneOfItsKeys()
    {
        IRateLimitStore store = RateLimitStore();
        var hour = TimeSpan.FromHours(1);
        Assert.Equal(-1, await store.TryAcquireAsync([new("a", 1, hour)]));
        Assert.Equal(0, await store.TryAcquireAsync([new("a", 1, hour), new("b", 1, hour)]));
        Assert.Equal(1, await store.TryAcquireAsync([new("b", 1, hour), new("a", 1, hour)]));
        Assert.Equal(-1, await store.TryAcquireAsync([new("b", 1, hour)]));
        Assert.Equal("1", await _redis.CliAsync("HGET", "test:rl:a", "c"));
        Assert.Equal("1", await _redis.CliAsync("HGET", "test:rl:b", "c"));
    }

    [Fact]
    public async Task TheWindowSlidesOnTheServersClockAndCountersExpire()
    {
        IRateLimitStore store = RateLimitStore();
        RateLimitRequest[] one = [new("w", 1, TimeSpan.FromSeconds(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal(0, await store.TryAcquireAsync(one));
        long ttl = long.Parse(await _redis.CliAsync("PTTL", "test:rl:w"));
        Assert.InRange(ttl, 1, 2000);
        await Task.Delay(TimeSpan.FromSeconds(2.1));
        Assert.Equal(-1, await store.TryAcquireAsync(one));
    }

    [Fact]
    public async Task TheLastWindowsCountWeighsOnTheNextAsMuchAsTheSlidingWindowStillCoversOfIt()
    {
        IRateLimitStore store = RateLimitStore();
        const long window = 4000;
        RateLimitRequest[] one = [new("slide", 20, TimeSpan.FromMilliseconds(window))];

        // Ten early in one window (by the server's clock, which the script follows)...
        await WaitForServerTimeAsync(now => now % window < window / 8);
        long first = await ServerMillisecondsAsync() / window;
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(-1, await store.TryAcquireAsync(one));
        }

        Assert.Equal(first, await ServerMillisecondsAsync() / window);
        Assert.Equal("10", await _redis.CliAsync("HGET", "test:rl:slide", "c"));

        // ...and a quarter into the next, three quarters of them still count: about twelve more pass of the twenty,
        // where a fixed window (or a lost previous count) would let twenty through, and a previous count taken whole ten.
        await WaitForServerTimeAsync(now => now >= ((first + 1) * window) + (window / 4));
        int passed = 0;
        while (passed < 25 && await store.TryAcquireAsync(one) == -1)
        {
            passed++;
        }

        Assert.InRange(passed, 11, 14);
        Assert.Equal("10", await _redis.CliAsync("HGET", "test:rl:slide", "p"));
        long ttl = long.Parse(await _redis.CliAsync("PTTL", "test:rl:slide"));
        Assert.InRange(ttl, 1, 2 * window);
    }

    [Fact]
    public async Task RedisStoppedFailsFastAndCountingResumesWhenItIsBackWithoutANewClient()
    {
        var client = new RedisClient(Endpoint(_redis.Url()));
        var store = new RedisRateLimitStore(client, "test:", Deadline);
        RateLimitRequest[] one = [new("down", 100, TimeSpan.FromHours(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));

        await _redis.StopAsync();
        var elapsed = Stopwatch.StartNew();
        RedisException down = await Assert.ThrowsAsync<RedisException>(() => store.TryAcquireAsync(one).AsTask());
        Assert.True(elapsed.Elapsed < Deadline + TimeSpan.FromMilliseconds(200), $"took {elapsed.Elapsed}: {down.Message}");
        RedisException again = await Assert.ThrowsAsync<RedisException>(() => store.TryAcquireAsync(one).AsTask());
        Assert.Equal("unavailable", again.Reason);

        await _redis.StartAgainAsync();
        await EventuallyAsync(async () => await store.TryAcquireAsync(one) == -1);
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal("2", await _redis.CliAsync("HGET", "test:rl:down", "c"));
    }

    [Fact]
    public async Task RedisHungAfterAnIdleSpellAnswersTimeoutWithinTheDeadlineAndTheNextConnectionWorksOnceItAnswers()
    {
        var client = new RedisClient(Endpoint(_redis.Url()));
        var store = new RedisRateLimitStore(client, "test:", Deadline);
        RateLimitRequest[] one = [new("hung", 100, TimeSpan.FromHours(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));

        // Idle long enough for the connection's deadline checks to stop: the calls below must start them again.
        await Task.Delay(RedisConnection.DeadlineCheck * (RedisConnection.IdleChecksBeforeStop + 25));

        _redis.Pause();
        try
        {
            var elapsed = Stopwatch.StartNew();
            // Bounded here too: calls whose deadline nobody checks would otherwise hang the test, not fail it.
            RedisException[] failures = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Assert.ThrowsAsync<RedisException>(() => store.TryAcquireAsync(one).AsTask())))
                .WaitAsync(Deadline * 10);
            Assert.All(failures, f => Assert.Equal("timeout", f.Reason));
            Assert.InRange(elapsed.Elapsed, Deadline - TimeSpan.FromMilliseconds(20), Deadline + TimeSpan.FromMilliseconds(500));
        }
        finally
        {
            _redis.Resume();
        }

        await EventuallyAsync(async () => await store.TryAcquireAsync(one) == -1);
    }

    [Fact]
    public async Task ScriptsFlushedOnTheServerAreLoadedAgain()
    {
        IRateLimitStore store = RateLimitStore();
        RateLimitRequest[] one = [new("flush", 100, TimeSpan.FromHours(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal("OK", await _redis.CliAsync("SCRIPT", "FLUSH"));
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal("2", await _redis.CliAsync("HGET", "test:rl:flush", "c"));
    }

    [Fact]
    public async Task AUTHAndSELECTAreSentAndAWrongPasswordIsAReplyError()
    {
        await using RedisServer secured = await RedisServer.StartAsync("requirepass s3cret");
        var store = new RedisRateLimitStore(new RedisClient(Endpoint(secured.Url(3, "s3cret"))), "test:", Deadline);
        Assert.Equal(-1, await store.TryAcquireAsync([new("auth", 1, TimeSpan.FromHours(1))]));
        Assert.Equal("1", await secured.CliAsync("-a", "s3cret", "--no-auth-warning", "-n", "3", "HGET", "test:rl:auth", "c"));

        var wrong = new RedisRateLimitStore(new RedisClient(Endpoint(secured.Url(0, "wrong"))), "test:", Deadline);
        RedisException refused = await Assert.ThrowsAsync<RedisException>(() => wrong.TryAcquireAsync([new("auth", 1, TimeSpan.FromHours(1))]).AsTask());
        Assert.Contains("AUTH", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUnixSocketEndpointWorks()
    {
        var store = new RedisRateLimitStore(new RedisClient(Endpoint("unix:" + _redis.SocketPath + "?db=1")), "test:", Deadline);
        Assert.Equal(-1, await store.TryAcquireAsync([new("unix", 1, TimeSpan.FromHours(1))]));
        Assert.Equal("1", await _redis.CliAsync("-n", "1", "HGET", "test:rl:unix", "c"));
    }

    [Fact]
    public async Task TheCallersCancellationEndsTheWaitAtOnce()
    {
        IRateLimitStore store = new RedisRateLimitStore(new RedisClient(Endpoint(_redis.Url())), "test:", TimeSpan.FromSeconds(10));
        _redis.Pause();
        try
        {
            using var aborted = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            var elapsed = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryAcquireAsync([new("c", 1, TimeSpan.FromHours(1))], aborted.Token).AsTask());
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"took {elapsed.Elapsed}");
        }
        finally
        {
            _redis.Resume();
        }
    }

    [Fact]
    public async Task AGreylistedTripletPassesAfterTheDelayAndIsThenKnown()
    {
        IGreylistStore store = new RedisGreylistStore(new RedisClient(Endpoint(_redis.Url())), "test:", Deadline);
        var times = new GreylistTimes(TimeSpan.FromSeconds(1), TimeSpan.FromHours(4), TimeSpan.FromDays(36), 2);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t1", "net", times, default)).Outcome);
        GreylistDecision early = await store.CheckAsync("t1", "net", times, default);
        Assert.Equal(GreylistOutcome.TooEarly, early.Outcome);
        Assert.InRange(early.Wait, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        long ttl = long.Parse(await _redis.CliAsync("PTTL", "test:gl:t:t1"));
        Assert.InRange(ttl, TimeSpan.FromHours(3.9).TotalMilliseconds, TimeSpan.FromHours(4).TotalMilliseconds);

        await Task.Delay(early.Wait + TimeSpan.FromMilliseconds(50));
        Assert.Equal(GreylistOutcome.Passed, (await store.CheckAsync("t1", "net", times, default)).Outcome);
        Assert.Equal(GreylistOutcome.Known, (await store.CheckAsync("t1", "net", times, default)).Outcome);
        ttl = long.Parse(await _redis.CliAsync("PTTL", "test:gl:t:t1"));
        Assert.InRange(ttl, TimeSpan.FromDays(35.9).TotalMilliseconds, TimeSpan.FromDays(36).TotalMilliseconds);
        Assert.Equal("1", await _redis.CliAsync("GET", "test:gl:c:net"));
    }

    [Fact]
    public async Task AClientNetworkThatPassedAutoAllowTimesIsAllowedForEverything()
    {
        IGreylistStore store = new RedisGreylistStore(new RedisClient(Endpoint(_redis.Url())), "test:", Deadline);
        var times = new GreylistTimes(TimeSpan.FromSeconds(1), TimeSpan.FromHours(4), TimeSpan.FromDays(36), 2);
        await _redis.CliAsync("SET", "test:gl:c:trusted", "2");
        Assert.Equal(GreylistOutcome.ClientAllowed, (await store.CheckAsync("never-seen", "trusted", times, default)).Outcome);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("never-seen", "other", times, default)).Outcome);
    }

    private static RedisEndpoint Endpoint(string text)
    {
        Assert.True(RedisEndpoint.TryParse(text, out RedisEndpoint? endpoint, out string? error), error);
        return endpoint!;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RedisException) when (deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(5), "the store did not answer again within 5 s");
            await Task.Delay(50);
        }
    }

    private async Task<long> ServerMillisecondsAsync()
    {
        string[] time = (await _redis.CliAsync("TIME")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (long.Parse(time[0]) * 1000) + (long.Parse(time[1]) / 1000);
    }

    /// <summary>Waits (within ten seconds) until <paramref name="ready"/> accepts the server's time.</summary>
    private async Task WaitForServerTimeAsync(Func<long, bool> ready)
    {
        var waited = Stopwatch.StartNew();
        while (!ready(await ServerMillisecondsAsync()))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the server's clock never reached the moment the test waits for");
            await Task.Delay(20);
        }
    }

    private RedisRateLimitStore RateLimitStore() => new(new RedisClient(Endpoint(_redis.Url())), "test:", Deadline);
}
