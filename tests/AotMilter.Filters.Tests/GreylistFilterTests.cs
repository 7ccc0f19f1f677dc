using AotMilter.Filters.Greylist;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class GreylistFilterTests
{
    private static readonly GreylistTimes Times = new(TimeSpan.FromMinutes(5), TimeSpan.FromHours(4), TimeSpan.FromDays(36), 2);

    [Fact]
    public async Task ANewTripletWaitsTheDelayPassesWithinTheRetryWindowAndIsThenKnown()
    {
        var time = new ManualTime();
        var store = new InMemoryGreylistStore(1000, time);
        Assert.Equal(new GreylistDecision(GreylistOutcome.New, TimeSpan.FromMinutes(5)), await store.CheckAsync("t", "n", Times, default));
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(new GreylistDecision(GreylistOutcome.TooEarly, TimeSpan.FromMinutes(1)), await store.CheckAsync("t", "n", Times, default));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(GreylistOutcome.Passed, (await store.CheckAsync("t", "n", Times, default)).Outcome);
        time.Advance(TimeSpan.FromDays(35));
        Assert.Equal(GreylistOutcome.Known, (await store.CheckAsync("t", "n", Times, default)).Outcome);

        // Known again 35 days later: each use renews the pass TTL.
        time.Advance(TimeSpan.FromDays(35));
        Assert.Equal(GreylistOutcome.Known, (await store.CheckAsync("t", "n", Times, default)).Outcome);
        time.Advance(TimeSpan.FromDays(37));
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t", "n", Times, default)).Outcome);
    }

    [Fact]
    public void ATripletSpellsEachAddressOneWayAndLongerThanAnAddressCanBeAsOneSharedKey()
    {
        // One triplet whatever way the MTA writes the addresses: case, and the trailing dot of an absolute domain.
        Assert.Equal(
            GreylistKeys.Triplet("192.0.2.0/24", "a@example.org", "b@example.net"),
            GreylistKeys.Triplet("192.0.2.0/24", "A@Example.ORG.", "B@EXAMPLE.net"));

        // Up to the longest address SMTP allows, each its own; longer ones, whatever they say, one key.
        string longest = new string('a', 64) + "@" + new string('d', 255);
        Assert.Equal(320, longest.Length);
        Assert.Contains(longest, GreylistKeys.Triplet("n", longest, "b@example.net"), StringComparison.Ordinal);
        string first = GreylistKeys.Triplet("n", new string('a', 400) + "@example.org", "b@example.net");
        Assert.Equal(first, GreylistKeys.Triplet("n", new string('c', 500) + "@example.org", "b@example.net"));
        Assert.Equal("n (over-long) b@example.net", first);
        Assert.Equal("n  b@example.net", GreylistKeys.Triplet("n", "", "b@example.net"));
    }

    [Fact]
    public async Task ARetryAfterTheWindowClosedStartsOver()
    {
        var time = new ManualTime();
        var store = new InMemoryGreylistStore(1000, time);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t", "n", Times, default)).Outcome);
        time.Advance(TimeSpan.FromHours(4) + TimeSpan.FromSeconds(1));
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t", "n", Times, default)).Outcome);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(GreylistOutcome.Passed, (await store.CheckAsync("t", "n", Times, default)).Outcome);
    }

    [Fact]
    public async Task ANetworkThatPassedAutoAllowTimesIsAllowedForAllItsMailAndOthersAreNot()
    {
        var time = new ManualTime();
        var store = new InMemoryGreylistStore(1000, time);
        foreach (string t in new[] { "t1", "t2" })
        {
            await store.CheckAsync(t, "n", Times, default);
        }

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(GreylistOutcome.Passed, (await store.CheckAsync("t1", "n", Times, default)).Outcome);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t3", "n", Times, default)).Outcome);
        Assert.Equal(GreylistOutcome.Passed, (await store.CheckAsync("t2", "n", Times, default)).Outcome);
        Assert.Equal(GreylistOutcome.ClientAllowed, (await store.CheckAsync("t4", "n", Times, default)).Outcome);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t4", "other", Times, default)).Outcome);
        Assert.Equal(GreylistOutcome.New, (await store.CheckAsync("t5", "n", Times with { AutoAllow = 0 }, default)).Outcome);
    }

    [Fact]
    public async Task TheInProcessStoreStaysWithinItsBound()
    {
        var time = new ManualTime();
        var store = new InMemoryGreylistStore(100, time);
        for (int i = 0; i < 1000; i++)
        {
            await store.CheckAsync($"t{i}", "n", Times, default);
        }

        Assert.InRange(store.Count, 1, 101);
    }

    [Fact]
    public async Task TheFirstAttemptOfEachRecipientIsTempfailedWith451471UntilTheDelayHasPassed()
    {
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start("[greylist]\ndelay = 1s", "greylist");
        await using (MilterClient first = await host.ConnectAsync("192.0.2.10"))
        {
            await first.MailFromAsync($"<s{tag}@example.net>");
            MilterReply reply = await first.RcptToAsync($"<r{tag}@example.org>");
            Assert.Equal("replycode \"451 4.7.1 Greylisted, please try again later\"", reply.ToString());
            Assert.True((await first.RcptToAsync($"<r{tag}@example.org>")).IsTemporaryFailure);
        }

        await Task.Delay(TimeSpan.FromSeconds(1.1));

        // Another server of the same /24 retries: it is the same client network.
        await using MilterClient retry = await host.ConnectAsync("192.0.2.200");
        await retry.MailFromAsync($"<S{tag}@Example.NET.>");
        Assert.Equal(MilterReply.Continue, await retry.RcptToAsync($"<r{tag}@example.org>"));
        Assert.True((await retry.RcptToAsync($"<other{tag}@example.org>")).IsTemporaryFailure);

        await using MilterClient elsewhere = await host.ConnectAsync("192.0.3.10");
        await elsewhere.MailFromAsync($"<s{tag}@example.net>");
        Assert.True((await elsewhere.RcptToAsync($"<r{tag}@example.org>")).IsTemporaryFailure);
        Assert.Contains(host.Logs.Lines, l => l.Contains("greylist: 192.0.2.0/24", StringComparison.Ordinal) && l.Contains("passed after its delay", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuthenticatedClientsAndExemptNetworksHostsSendersAndRecipientsAreNotGreylisted()
    {
        string tag = Guid.NewGuid().ToString("N");
        await using FilterHost host = FilterHost.Start(
            "[greylist]\nexempt-clients = 203.0.113.0/24\nexempt-hosts = *.trusted.example\nexempt-senders = @friends.example\nexempt-recipients = postmaster@*",
            "greylist");
        await using MilterClient mta = await host.ConnectAsync("198.51.100.1", "mx.untrusted.example");
        await mta.MacroAsync('M', ("{auth_authen}", "alice"));
        await mta.MailFromAsync($"<a{tag}@example.net>");
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<r{tag}@example.org>"));
        await mta.MacroAsync('M', ("{auth_authen}", ""));
        await mta.MailFromAsync($"<b{tag}@friends.example>");
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<r{tag}@example.org>"));
        await mta.MailFromAsync($"<c{tag}@example.net>");
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<postmaster@example.org>"));
        Assert.True((await mta.RcptToAsync($"<r{tag}@example.org>")).IsTemporaryFailure);

        await using MilterClient network = await host.ConnectAsync("203.0.113.9", "mx.untrusted.example");
        await network.MailFromAsync($"<c{tag}@example.net>");
        Assert.Equal(MilterReply.Continue, await network.RcptToAsync($"<x{tag}@example.org>"));

        await using MilterClient named = await host.ConnectAsync("198.51.100.2", "out.trusted.example");
        await named.MailFromAsync($"<c{tag}@example.net>");
        Assert.Equal(MilterReply.Continue, await named.RcptToAsync($"<y{tag}@example.org>"));
    }

    [Theory]
    [InlineData("delay = 1h\nretry-window = 30m", "greylist.retry-window")]
    [InlineData("ipv4-prefix = 4", "greylist.ipv4-prefix")]
    [InlineData("store = redis://host/x", "greylist.store")]
    [InlineData("on-error = maybe", "greylist.on-error")]
    [InlineData("store-timeout = 0ms", "greylist.store-timeout")]
    [InlineData("reply = \"550 5.7.1 no\"", "greylist.reply")]
    [InlineData("exempt-clients = 10.0.0.1/8", "greylist.exempt-clients")]
    public void InvalidSettingsAreReportedOnTheirLine(string settings, string field)
    {
        var loaded = FilterHost.Load("[greylist]\n" + settings, [FilterHost.Filter("greylist")]);
        Assert.False(loaded.IsValid);
        Assert.Contains(loaded.Errors, e => e.ToString().Contains(field, StringComparison.Ordinal));
    }
}
