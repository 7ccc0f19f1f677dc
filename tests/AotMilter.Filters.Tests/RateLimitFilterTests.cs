using AotMilter.Filters.RateLimit;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class RateLimitFilterTests
{
    [Fact]
    public async Task TheMessageOverTheSenderLimitIsTempfailedAndOtherSendersGoOn()
    {
        string sender = $"s{Guid.NewGuid():N}@example.net";
        await using FilterHost host = FilterHost.Start("[ratelimit]\nsender = 2/1h reply=\"451 4.7.1 Slow down\"\nexempt-clients = 127.0.0.1", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<{sender}>"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<{sender}>"));
        Assert.Equal("replycode \"451 4.7.1 Slow down\"", (await mta.MailFromAsync($"<{sender}>")).ToString());
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<other-{sender}>"));

        await using MilterClient exempt = await host.ConnectAsync("127.0.0.1");
        Assert.Equal(MilterReply.Continue, await exempt.MailFromAsync($"<{sender}>"));
    }

    [Fact]
    public async Task SendersLongerThanSMTPAllowsShareOneCounterInsteadOfAKeyEach()
    {
        // Before, each such sender was a key of its own, as long as the sender: 150 senders of 1 MiB held 500 MB.
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start("[ratelimit]\nsender = 2/1h", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<{tag}{new string('a', 400)}@example.net>"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<{tag}{new string('b', 400)}@example.net>"));
        Assert.True((await mta.MailFromAsync($"<{tag}{new string('c', 400)}@example.net>")).IsTemporaryFailure);
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<{tag}@example.net>"));
    }

    [Fact]
    public async Task SpellingsOfOneSenderAndDomainShareTheirCounters()
    {
        // Case and the trailing dot of an absolute domain name gave each spelling a counter of its own.
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start("[ratelimit]\nsender = 2/1h\nsender-domain = 2/1h", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<a{tag}@d{tag}.example>"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<A{tag}@D{tag}.EXAMPLE.>"));
        Assert.True((await mta.MailFromAsync($"<a{tag}@d{tag}.example.>")).IsTemporaryFailure);

        // A refused MAIL counts on no counter: the domain saw two, and another sender of it is its third.
        Assert.True((await mta.MailFromAsync($"<b{tag}@d{tag}.Example>")).IsTemporaryFailure);
    }

    [Fact]
    public async Task ClientsAndLoginsAreCountedSeparately()
    {
        string login = $"user{Guid.NewGuid():N}";
        await using FilterHost host = FilterHost.Start("[ratelimit]\nclient = 3/1h\nauth = 1/1m", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync("203.0.113.77");
        await mta.MacroAsync('M', ("{auth_authen}", login));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.net>"));
        await mta.MacroAsync('M', ("{auth_authen}", login));
        Assert.True((await mta.MailFromAsync("<a@example.net>")).IsTemporaryFailure);
        await mta.MacroAsync('M', ("{auth_authen}", ""));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.net>"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.net>"));
        Assert.True((await mta.MailFromAsync("<a@example.net>")).IsTemporaryFailure);
    }

    [Theory]
    [InlineData("sender")]
    [InlineData("sender-domain")]
    public async Task SendersAndDomainsLongerThanSmtpAllowsShareOneCounter(string rule)
    {
        // A window no other test uses: the in-process store is the process's, and the over-long counter is one.
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start($"[ratelimit]\n{rule} = 1/7h", "ratelimit");
        await using MilterClient mta = await host.ConnectAsync();
        string Long(char c) => rule == "sender" ? $"<{new string(c, 400)}@{tag}.example>" : $"<{tag}@{new string(c, 330)}.example>";

        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(Long('a')));
        Assert.True((await mta.MailFromAsync(Long('b'))).IsTemporaryFailure);
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync($"<a{tag}@b{tag}.example>"));
    }

    [Fact]
    public async Task AnExemptClientsConnectionLeavesNoExemptionToTheNextConnection()
    {
        string sender = $"<s{Guid.NewGuid():N}@example.net>";
        await using FilterHost host = FilterHost.Start("[ratelimit]\nsender = 1/1h\nexempt-clients = 203.0.113.0/24", "ratelimit");
        await using (MilterClient exempt = await host.ConnectAsync("203.0.113.5"))
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(MilterReply.Continue, await exempt.MailFromAsync(sender));
            }

            await exempt.QuitAsync();
        }

        // The filter instance may serve this connection too (it resets itself): its client is this one's.
        for (int round = 0; round < 2; round++)
        {
            await using MilterClient other = await host.ConnectAsync("198.51.100.1");
            MilterReply reply = await other.MailFromAsync(sender);
            Assert.Equal(round == 0, reply == MilterReply.Continue);
            Assert.Equal(round == 1, reply.IsTemporaryFailure);
            await other.QuitAsync();
        }
    }

    [Fact]
    public async Task TheWindowSlidesAndIdleKeysAreEvicted()
    {
        var time = new ManualTime();
        var store = new InMemoryRateLimitStore(100, time);
        RateLimitRequest[] one = [new("k", 2, TimeSpan.FromMinutes(1))];
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        Assert.Equal(0, await store.TryAcquireAsync(one));
        time.Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(-1, await store.TryAcquireAsync(one));
        time.Advance(TimeSpan.FromMinutes(5));
        for (int i = 0; i < 150; i++)
        {
            await store.TryAcquireAsync([new($"key{i}", 5, TimeSpan.FromMinutes(1))]);
        }

        Assert.True(store.Count <= 100, $"{store.Count} keys kept");
    }

    [Fact]
    public async Task ARefusedEventCountsNothingOnTheOtherKeys()
    {
        var store = new InMemoryRateLimitStore(100, new ManualTime());
        Assert.Equal(-1, await store.TryAcquireAsync([new("a", 1, TimeSpan.FromHours(1))]));
        Assert.Equal(0, await store.TryAcquireAsync([new("a", 1, TimeSpan.FromHours(1)), new("b", 1, TimeSpan.FromHours(1))]));
        Assert.Equal(-1, await store.TryAcquireAsync([new("b", 1, TimeSpan.FromHours(1))]));
    }
}
