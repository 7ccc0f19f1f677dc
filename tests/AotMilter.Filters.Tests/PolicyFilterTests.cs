using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class PolicyFilterTests
{
    private const string Config = """
        [policy]
        client    = allow 127.0.0.0/8 ::1
        client    = reject 192.0.2.0/24 2001:db8:bad::/48 reply="554 5.7.1 Network blocked"
        client    = tempfail *.dynamic.example.net at=rcpt
        helo      = reject localhost /^\d+\.\d+\.\d+\.\d+$/ reply="550 5.7.1 Bad HELO"
        auth      = reject mallory
        auth      = allow *
        sender    = reject @example.com auth=no reply="550 5.7.1 Log in first"
        sender    = reject *@spam.example
        sender    = discard <>  at=data
        recipient = tempfail old@example.org
        recipient = discard blackhole@example.org
        recipient = accept vip@example.org
        """;

    [Theory]
    [InlineData("192.0.2.55", "replycode \"554 5.7.1 Network blocked\"")]
    [InlineData("2001:db8:bad:1::9", "replycode \"554 5.7.1 Network blocked\"")]
    [InlineData("198.51.100.1", "continue")]
    public async Task ClientNetworksAreMatchedByCIDRForIPv4AndIPv6(string address, string expected)
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await MilterClient.ConnectAsync(host.SocketPath);
        await mta.NegotiateAsync();
        MilterReply reply = await mta.ConnectAsync("host", address.Contains(':') ? Protocol.ConnectFamily.IPv6 : Protocol.ConnectFamily.IPv4, 25, address);
        Assert.Equal(expected, reply.ToString());
    }

    [Fact]
    public async Task AnAllowedClientSkipsEveryLaterPolicyRule()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync("127.0.0.1", helo: "localhost");
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<x@spam.example>"));
    }

    [Theory]
    [InlineData("localhost", "replycode \"550 5.7.1 Bad HELO\"")]
    [InlineData("10.1.2.3", "replycode \"550 5.7.1 Bad HELO\"")]
    [InlineData("mail.example.net", "continue")]
    public async Task HeloNamesAreMatchedByWildcardsAndRegexes(string helo, string expected)
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync(helo: null);
        Assert.Equal(expected, (await mta.HeloAsync(helo)).ToString());
    }

    [Fact]
    public async Task AClientHostRuleCanActLaterAtRcpt()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync(hostName: "h42.dynamic.example.net");
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.net>"));
        MilterReply rcpt = await mta.RcptToAsync("<b@example.org>");
        Assert.True(rcpt.IsTemporaryFailure, rcpt.ToString());
        Assert.StartsWith("450 4.7.1", rcpt.Text);
    }

    [Fact]
    public async Task SendersMatchByDomainAndWildcardAndTheAuthCondition()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal("replycode \"550 5.7.1 Log in first\"", (await mta.MailFromAsync("<ceo@example.com>")).ToString());
        Assert.Equal("replycode \"550 5.7.1 Sender address rejected: access denied\"", (await mta.MailFromAsync("<x@spam.example>")).ToString());
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<friend@example.net>"));
    }

    [Fact]
    public async Task AuthenticatedSendersAreAllowedAndADeniedLoginIsRejected()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MacroAsync('M', ("{auth_authen}", "alice"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<ceo@example.com>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<old@example.org>"));
        await mta.AbortAsync();
        await mta.MacroAsync('M', ("{auth_authen}", "mallory"));
        Assert.True((await mta.MailFromAsync("<m@example.net>")).IsRejection);
    }

    [Fact]
    public async Task RecipientsGetTempfailDiscardAndAccept()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MailFromAsync("<a@example.net>");
        Assert.True((await mta.RcptToAsync("<old@example.org>")).IsTemporaryFailure);
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<someone@example.org>"));
        Assert.Equal(MilterReply.Discard, await mta.RcptToAsync("<blackhole@example.org>"));
        await mta.MailFromAsync("<a@example.net>");
        Assert.Equal(MilterReply.Accept, await mta.RcptToAsync("<vip@example.org>"));
    }

    [Fact]
    public async Task ASenderRuleCanActAtData()
    {
        await using FilterHost host = FilterHost.Start(Config, "policy");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<someone@example.org>"));
        Assert.Equal(MilterReply.Discard, await mta.DataAsync());
    }
}
