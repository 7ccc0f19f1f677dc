using System.Diagnostics;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// Three daemons (the product binary) behind a real HAProxy, round robin, sharing one real Redis: they count and
/// remember together whichever daemon a connection reaches, and when Redis goes away they answer on-error at once.
/// </summary>
public sealed class ScaleOutTests(ScaleOutFixture fixture) : IClassFixture<ScaleOutFixture>
{
    private DaemonPool Pool => fixture.Pool;

    [Fact]
    public Task ALimitOfNPerSenderLetsExactlyNThroughAcrossThreeDaemons() => VerifyAsync(async () =>
    {
        string sender = $"<s{Guid.NewGuid():N}@ratelimit.test>";
        var replies = new List<MilterReply>();
        for (int i = 0; i < 5 * ScaleOutFixture.SenderLimit; i++)
        {
            // A connection each, as Postfix makes one per SMTP session: HAProxy hands them to the daemons in turn.
            await using MilterClient mta = await ConnectAsync();
            replies.Add(await mta.MailFromAsync(sender));
        }

        Assert.Equal(ScaleOutFixture.SenderLimit, replies.Count(r => r == MilterReply.Continue));
        Assert.Equal(4 * ScaleOutFixture.SenderLimit, replies.Count(r => r.IsTemporaryFailure));
        Assert.True(replies.Take(ScaleOutFixture.SenderLimit).All(r => r == MilterReply.Continue), string.Join(", ", replies));

        // Each daemon refused some: each saw the counts the others had made.
        string refused = $"{sender[1..^1]} is over {ScaleOutFixture.SenderLimit}";
        for (int d = 0; d < Pool.Daemons.Count; d++)
        {
            Assert.True(await LoggedAsync(d, refused), $"daemon {d} refused nothing: it did not see the others' counts");
        }
    });

    [Fact]
    public Task ATripletGreylistedThroughOneDaemonPassesThroughAnotherAfterTheDelay() => VerifyAsync(async () =>
    {
        string tag = Guid.NewGuid().ToString("N");
        string sender = $"<g{tag}@example.net>";
        string recipient = $"<r{tag}@example.org>";
        await using (MilterClient first = await ConnectAsync())
        {
            await first.MailFromAsync(sender);
            Assert.Equal("replycode \"451 4.7.1 Greylisted, please try again later\"", (await first.RcptToAsync(recipient)).ToString());
        }

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await using (MilterClient retry = await ConnectAsync())
        {
            await retry.MailFromAsync(sender);
            Assert.Equal(MilterReply.Continue, await retry.RcptToAsync(recipient));
        }

        int greylistedBy = await LoggedByAsync($"g{tag}@example.net -> r{tag}@example.org: New");
        int passedBy = await LoggedByAsync($"g{tag}@example.net -> r{tag}@example.org: passed");
        Assert.True(greylistedBy >= 0 && passedBy >= 0 && greylistedBy != passedBy, $"greylisted by daemon {greylistedBy}, passed by daemon {passedBy}");
    });

    [Fact]
    public Task AnIdleDaemonWakesForNothingThoughItsRedisConnectionsStayOpen() => VerifyAsync(async () =>
    {
        // Traffic through every daemon opens their Redis connections and starts their deadline checks...
        string tag = Guid.NewGuid().ToString("N");
        for (int i = 0; i < 2 * Pool.Daemons.Count; i++)
        {
            await using MilterClient mta = await ConnectAsync();
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<idle{i}{tag}@ratelimit.test>"));
        }

        // ...which stop once they have found nothing waiting for a second: then the daemon sleeps. Checking every
        // 20 ms for ever woke its threads about 470 times a second; with the in-process store it wakes about twice.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        int pid = Pool.Daemons[0]!.ProcessId;
        long before = ProcStat.ContextSwitches(pid);
        await Task.Delay(TimeSpan.FromSeconds(3));
        long woke = ProcStat.ContextSwitches(pid) - before;
        Assert.True(woke < 100, $"an idle daemon's threads woke {woke} times in 3 s");

        // And the next call after the idle spell is answered as before.
        await using MilterClient next = await ConnectAsync();
        Assert.Equal(MilterReply.Continue, await next.MailFromAsync($"<after{tag}@ratelimit.test>"));
    });

    [Fact]
    public Task RedisStoppedGivesTheOnErrorVerdictAtOnceAndCountingResumesWhenItIsBack() => VerifyAsync(async () =>
    {
        string sender = $"<s{Guid.NewGuid():N}@ratelimit.test>";
        for (int i = 0; i < 3; i++)
        {
            await using MilterClient mta = await ConnectAsync();
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(sender));
        }

        await Pool.Redis.StopAsync();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                await using MilterClient mta = await ConnectAsync();
                var clock = Stopwatch.StartNew();
                MilterReply reply = await mta.MailFromAsync(sender);
                Assert.Equal("replycode \"451 4.3.0 Temporary local problem, try again later\"", reply.ToString());
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the on-error answer took {clock.Elapsed}");

                // The connection is still served: the next command gets its answer.
                Assert.True((await mta.MailFromAsync(sender)).IsTemporaryFailure);
            }
        }
        finally
        {
            await Pool.Redis.StartAgainAsync();
        }

        // Every daemon's metrics endpoint counts its store failures.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            foreach (int port in Pool.MetricsPorts)
            {
                string metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
                Assert.Matches("aotmilter_store_errors_total\\{filter=\"ratelimit\",store=\"redis\",reason=\"unavailable\"\\} [1-9]", metrics);
                Assert.Matches("aotmilter_store_seconds_count\\{filter=\"ratelimit\",store=\"redis\"\\} [1-9]", metrics);
            }
        }

        // Redis restarted empty (no persistence): counting starts over, in every daemon, without restarting any.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var replies = new List<MilterReply>();
        for (int i = 0; i < 3 * ScaleOutFixture.SenderLimit; i++)
        {
            await using MilterClient mta = await ConnectAsync();
            replies.Add(await mta.MailFromAsync(sender));
        }

        Assert.Equal(ScaleOutFixture.SenderLimit, replies.Count(r => r == MilterReply.Continue));
        Assert.Equal(2 * ScaleOutFixture.SenderLimit, replies.Count(r => r.IsTemporaryFailure));
    });

    /// <summary>Which daemon logged <paramref name="text"/>, waiting up to 5 s for the line to arrive; -1 if none did.</summary>
    private async Task<int> LoggedByAsync(string text)
    {
        bool[] logged = await Task.WhenAll(Enumerable.Range(0, Pool.Daemons.Count).Select(d => LoggedAsync(d, text)));
        return Array.IndexOf(logged, true);
    }

    /// <summary>True once daemon <paramref name="daemon"/> has logged <paramref name="text"/>; false after 5 s without.</summary>
    private async Task<bool> LoggedAsync(int daemon, string text)
    {
        var clock = Stopwatch.StartNew();
        while (!Pool.Daemons[daemon]!.Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    private async Task<MilterClient> ConnectAsync()
    {
        MilterClient client = await MilterClient.ConnectAsync(Pool.Haproxy.Endpoint.ForAotMilter, TimeSpan.FromSeconds(10));
        await client.NegotiateAsync();
        // Neither filter handles HELO, so the daemons decline it and an MTA would not send it.
        await client.ConnectAsync("mx.example.net", ConnectFamily.IPv4, 25, "198.51.100.23");
        return client;
    }

    private async Task VerifyAsync(Func<Task> test)
    {
        try
        {
            await test();
        }
        catch (Exception e)
        {
            throw new EndToEndFailure($"{e.GetType().Name}: {e.Message}\n\n{Pool.Describe()}", e);
        }
    }
}
