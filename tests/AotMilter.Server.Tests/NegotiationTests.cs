using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class NegotiationTests
{
    private const ProtocolFlags Postfix2Protocol = (ProtocolFlags)0x7F;
    private const ActionFlags Version2Actions = (ActionFlags)0x3F;

    [Theory]
    [InlineData(6u, 6u)]
    [InlineData(7u, 6u)]
    [InlineData(4u, 4u)]
    [InlineData(3u, 3u)]
    [InlineData(2u, 2u)]
    public async Task TheReplyVersionIsTheLowerOfSixAndTheOffer(uint offered, uint expected)
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync(offered, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6);

        Assert.Equal(expected, reply.Version);
        Assert.Empty(reply.SymbolLists);
    }

    [Fact]
    public async Task AVersion1OfferClosesTheConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => mta.NegotiateAsync(1, (ActionFlags)0xF, (ProtocolFlags)0x3F));

        await server.Logs.WaitForAsync(nameof(MilterProtocolError.UnsupportedVersion));
    }

    [Fact]
    public async Task TheReplyAsksForTheActionsTheFiltersNeed()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders | ActionFlags.Quarantine));
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync();

        Assert.Equal(ActionFlags.AddHeaders | ActionFlags.Quarantine, reply.Actions);
    }

    [Fact]
    public async Task APostfixVersion2OfferIsAnsweredWithVersion2AndOnlyBitsItOffered()
    {
        var probe = new Probe();
        const ProtocolFlags wanted = ProtocolFlags.NoHelo | ProtocolFlags.NoUnknown | ProtocolFlags.NoData
            | ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyConnect | ProtocolFlags.NoReplyBody | ProtocolFlags.HeaderLeadingSpace;
        await using TestServer server = TestServer.Start(probe.Register(wanted, ActionFlags.AddHeaders | ActionFlags.ChangeHeaders));
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync(2, Version2Actions, Postfix2Protocol);

        Assert.Equal(2u, reply.Version);
        Assert.Equal(ProtocolFlags.NoHelo, reply.Protocol);
        Assert.Equal(ActionFlags.AddHeaders | ActionFlags.ChangeHeaders, reply.Actions);

        // No no-reply bits were offered, so every event the filter left without a reply is answered anyway.
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 4711, "192.0.2.1"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "hi"));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync("hello\r\n"));
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);
        Assert.Equal(
            ["connect client.example.org IPv4 4711 192.0.2.1", "mailfrom <a@example.org>", "rcptto <b@example.org>",
             "header Subject: hi", "endofheaders", "body 7 bytes", "endofmessage"],
            probe.Events);
    }

    [Fact]
    public async Task RequestedActionsTheMtaDoesNotOfferCloseThatConnectionAndTheServerKeepsServingOthers()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.ChangeSender | ActionFlags.AddHeaders));
        await using MilterClient modern = await server.ConnectAndNegotiateAsync();
        await using MilterClient old = await server.ConnectAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => old.NegotiateAsync(2, Version2Actions, Postfix2Protocol));

        await server.Logs.WaitForAsync(nameof(MilterProtocolError.ActionsNotOffered));
        Assert.Equal(MilterReply.Continue, await modern.ConnectAsync("a", ConnectFamily.IPv4, 1, "192.0.2.1"));
        await using MilterClient later = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await later.ConnectAsync("b", ConnectFamily.IPv4, 2, "192.0.2.2"));
    }

    [Fact]
    public async Task SkipAndNoReplyBitsAreIntersectedWithWhatTheMtaOffered()
    {
        const ProtocolFlags wanted = ProtocolFlags.NoHelo | ProtocolFlags.NoData | ProtocolFlags.NoUnknown
            | ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyBody | ProtocolFlags.Skip;
        const ProtocolFlags offered = ProtocolFlags.AllSkips | ProtocolFlags.NoReplyHeader;
        await using TestServer server = TestServer.Start(new Probe().Register(wanted));
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync(6, ActionFlags.AllVersion6, offered);

        Assert.Equal(ProtocolFlags.NoHelo | ProtocolFlags.NoData | ProtocolFlags.NoUnknown | ProtocolFlags.NoReplyHeader, reply.Protocol);
    }

    [Fact]
    public async Task NoReplyEventsAreNotAnsweredWhenTheMtaOffersThem()
    {
        var probe = new Probe();
        const ProtocolFlags wanted = ProtocolFlags.NoReplyConnect | ProtocolFlags.NoReplyHelo | ProtocolFlags.NoReplyMail
            | ProtocolFlags.NoReplyRcpt | ProtocolFlags.NoReplyData | ProtocolFlags.NoReplyHeader
            | ProtocolFlags.NoReplyEndOfHeaders | ProtocolFlags.NoReplyBody | ProtocolFlags.NoReplyUnknown;
        await using TestServer server = TestServer.Start(probe.Register(wanted));
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync();
        Assert.Equal(wanted, reply.Protocol);

        // Nothing is answered until end of message; an unexpected reply would show up as the end-of-message answer.
        Assert.Equal(MilterReply.NoReply, await mta.ConnectAsync("h", ConnectFamily.IPv4, 1, "192.0.2.1"));
        Assert.Equal(MilterReply.NoReply, await mta.HeloAsync("h"));
        Assert.Equal(MilterReply.NoReply, await mta.MailFromAsync("<a@b>"));
        Assert.Equal(MilterReply.NoReply, await mta.RcptToAsync("<c@d>"));
        Assert.Equal(MilterReply.NoReply, await mta.DataAsync());
        Assert.Equal(MilterReply.NoReply, await mta.HeaderAsync("Subject", "x"));
        Assert.Equal(MilterReply.NoReply, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.NoReply, await mta.BodyAsync("x\r\n"));
        EndOfMessageResult eom = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.Continue, eom.Reply);
        Assert.Empty(eom.Modifications);
        Assert.Equal(9, probe.Events.Count);
    }

    [Fact]
    public async Task WithNoReplyFlagsTurnedOffEveryEventIsAnswered()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(o => o with { UseNoReplyFlags = false },
            probe.Register(ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyBody | ProtocolFlags.NoHelo));
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync();

        Assert.Equal(ProtocolFlags.NoHelo, reply.Protocol);
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("h", ConnectFamily.Unknown, 0, ""));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@b>"));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "x"));
    }

    [Fact]
    public async Task DeclinedEventsCannotBeSentByTheClient()
    {
        await using TestServer server = TestServer.Start(new Probe().Register(ProtocolFlags.NoHelo | ProtocolFlags.NoBody));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        InvalidOperationException helo = await Assert.ThrowsAsync<InvalidOperationException>(() => mta.HeloAsync("h"));
        InvalidOperationException body = await Assert.ThrowsAsync<InvalidOperationException>(() => mta.BodyAsync("x"));

        Assert.Contains("declined HELO", helo.Message, StringComparison.Ordinal);
        Assert.Contains("declined body", body.Message, StringComparison.Ordinal);
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("h", ConnectFamily.Unknown, 0, ""));
    }

    [Fact]
    public async Task EventsOlderProtocolVersionsLackCannotBeSentByTheClient()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync(2, Version2Actions, Postfix2Protocol);

        await Assert.ThrowsAsync<InvalidOperationException>(() => mta.DataAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => mta.UnknownAsync("XYZZY"));
    }

    [Fact]
    public async Task ACommandBeforeNegotiationClosesTheConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAsync();

        await mta.SendFrameAsync((byte)'C', "h\0U"u8.ToArray());

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.UnexpectedCommand));
    }

    [Fact]
    public async Task ATruncatedNegotiationClosesTheConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAsync();

        await mta.SendFrameAsync((byte)'O', new byte[8]);

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.TruncatedPayload));
    }
}
