using System.Text;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Metrics;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

/// <summary>The filters with their Redis store, against a real redis-server that stops and comes back.</summary>
public sealed class StoreFailureTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task RedisDownTempfailsMAILByDefaultAndCountingResumesWhenItIsBack()
    {
        string sender = $"<s{Guid.NewGuid():N}@example.net>";
        await using FilterHost host = FilterHost.Start($"[ratelimit]\nsender = 2/1h\nstore = {_redis.Url()}\nstore-timeout = 500ms", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(sender));

        await _redis.StopAsync();
        Assert.Equal("replycode \"451 4.3.0 Temporary local problem, try again later\"", (await mta.MailFromAsync(sender)).ToString());
        Assert.Contains(host.Logs.Lines, l => l.Contains("ratelimit: the redis store failed", StringComparison.Ordinal) && l.Contains("on-error = TempFail", StringComparison.Ordinal));

        await _redis.StartAgainAsync();
        await Task.Delay(RedisClientReconnect);
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(sender));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(sender));
        Assert.True((await mta.MailFromAsync(sender)).IsTemporaryFailure);
        Assert.Equal("2", await _redis.CliAsync("HGET", $"aotmilter:rl:Sender:2/3600:{sender[1..^1]}", "c"));

        var metrics = new StringBuilder();
        FilterMetrics.WritePrometheus(metrics);
        Assert.Matches("aotmilter_store_errors_total\\{filter=\"ratelimit\",store=\"redis\",reason=\"unavailable\"\\} [1-9]", metrics.ToString());
        Assert.Matches("aotmilter_store_seconds_count\\{filter=\"ratelimit\",store=\"redis\"\\} [1-9]", metrics.ToString());
    }

    [Fact]
    public async Task RedisDownWithOnErrorAcceptLetsRecipientsThroughUngreylisted()
    {
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start($"[greylist]\nstore = {_redis.Url()}\non-error = accept\nkey-prefix = t{tag}:", "greylist");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MailFromAsync($"<s{tag}@example.net>");
        Assert.True((await mta.RcptToAsync($"<r{tag}@example.org>")).IsTemporaryFailure);
        Assert.Equal("1", await _redis.CliAsync("EXISTS", $"t{tag}:gl:t:198.51.100.0/24 s{tag}@example.net r{tag}@example.org"));

        _redis.Pause();
        try
        {
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<r{tag}@example.org>"));
        }
        finally
        {
            _redis.Resume();
        }
    }

    private static readonly TimeSpan RedisClientReconnect = Redis.RedisClient.ReconnectDelay;
}
