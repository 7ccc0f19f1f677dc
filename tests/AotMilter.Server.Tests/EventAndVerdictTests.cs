using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class EventAndVerdictTests
{
    [Fact]
    public async Task EveryCommandReachesTheFilterWithItsArguments()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("[2001:db8::5]", ConnectFamily.IPv6, 25, "IPv6:2001:db8::5"));
        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("client.example.org"));
        Assert.Equal(MilterReply.Continue, await mta.UnknownAsync("XYZZY plugh"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>", "SIZE=1234", "BODY=8BITMIME"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.net>", "NOTIFY=NEVER"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<c@example.net>"));
        Assert.Equal(MilterReply.Continue, await mta.DataAsync());
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "folded\n\tsubject"));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Empty", ""));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync(new byte[70_000]));
        EndOfMessageResult eom = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.Continue, eom.Reply);
        Assert.Equal(
        [
            "connect [2001:db8::5] IPv6 25 2001:db8::5",
            "helo client.example.org",
            "unknown XYZZY plugh",
            "mailfrom <a@example.org> SIZE=1234 BODY=8BITMIME",
            "rcptto <b@example.net> NOTIFY=NEVER",
            "rcptto <c@example.net>",
            "data",
            "header Subject: folded\n\tsubject",
            "header X-Empty: ",
            "endofheaders",
            "body 65535 bytes",
            "body 4465 bytes",
            "endofmessage",
        ], probe.Events);
    }

    [Theory]
    [InlineData(ConnectFamily.IPv4, 587, "198.51.100.7", "198.51.100.7")]
    [InlineData(ConnectFamily.Unix, 0, "/var/run/smtpd.sock", "/var/run/smtpd.sock")]
    [InlineData(ConnectFamily.Unknown, 0, "ignored", "")]
    public async Task ConnectInfoCarriesEachAddressFamily(ConnectFamily family, ushort port, string address, string seen)
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("host", family, port, address));

        Assert.Equal([$"connect host {family} {port} {seen}"], probe.Events);
    }

    public static TheoryData<MilterEvent, VerdictKind, MilterReplyKind> VerdictsAtEveryEvent()
    {
        var data = new TheoryData<MilterEvent, VerdictKind, MilterReplyKind>();
        foreach (MilterEvent e in Transcript.MessageEvents)
        {
            data.Add(e, VerdictKind.Continue, MilterReplyKind.Continue);
            data.Add(e, VerdictKind.Accept, MilterReplyKind.Accept);
            data.Add(e, VerdictKind.Reject, MilterReplyKind.Reject);
            data.Add(e, VerdictKind.TempFail, MilterReplyKind.TempFail);
            data.Add(e, VerdictKind.Discard, MilterReplyKind.Discard);
            data.Add(e, VerdictKind.Skip, e == MilterEvent.Body ? MilterReplyKind.Skip : MilterReplyKind.Continue);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VerdictsAtEveryEvent))]
    public async Task EachVerdictAtEachEventIsSentAsItsReply(MilterEvent at, VerdictKind verdict, MilterReplyKind expected)
    {
        var probe = new Probe
        {
            Decide = (e, _, _) => e == at ? VerdictOf(verdict) : Verdict.Continue,
            EndOfMessage = (_, _) => at == MilterEvent.EndOfMessage ? VerdictOf(verdict) : Verdict.Continue,
        };
        await using TestServer server = TestServer.Start(probe.Register(ProtocolFlags.Skip));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(ProtocolFlags.Skip, mta.Negotiated!.Protocol);

        MilterReply reply = await Transcript.RunUntilAsync(mta, at);

        Assert.Equal(new MilterReply(expected), reply);
    }

    [Fact]
    public async Task AnUnknownCommandCanBeAnsweredWithAVerdict()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Unknown ? Verdict.TempFail : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        Assert.Equal(MilterReply.TempFail, await mta.UnknownAsync("BDAT 100"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@b>"));
    }

    [Fact]
    public async Task SkipWithoutTheMtaOfferingSkipIsSentAsContinue()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Body ? Verdict.Skip : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register(ProtocolFlags.Skip));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync(protocol: ProtocolFlags.AllVersion6 & ~ProtocolFlags.Skip);

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.Body);

        Assert.Equal(MilterReply.Continue, reply);
    }

    [Fact]
    public async Task SkipIsOnlyUsedWhenTheFilterAskedForIt()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Body ? Verdict.Skip : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(mta, MilterEvent.Body));
    }

    [Fact]
    public async Task AfterSkipNoMoreBodyChunksAreSentAndTheMessageEndsNormally()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Body ? Verdict.Skip : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register(ProtocolFlags.Skip));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.EndOfHeaders);

        Assert.Equal(MilterReply.Skip, await mta.BodyAsync(new byte[200_000]));
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);

        Assert.Single(probe.Events, e => e.StartsWith("body", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SkipFromABodyCallbackWithoutReplyIsNotKeptAsTheMessagesVerdict()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Body ? Verdict.Skip : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register(ProtocolFlags.Skip | ProtocolFlags.NoReplyBody));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.EndOfHeaders);

        Assert.Equal(MilterReply.NoReply, await mta.BodyAsync("chunk\r\n"));
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);
    }

    [Fact]
    public async Task RejectingARecipientAffectsOnlyThatRecipient()
    {
        var probe = new Probe { Decide = (e, arg, _) => e == MilterEvent.RcptTo && arg.Contains("bad", StringComparison.Ordinal) ? Verdict.Reject : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<good1@example.org>"));
        Assert.Equal(MilterReply.Reject, await mta.RcptToAsync("<bad@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<good2@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.DataAsync());
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);
    }

    [Fact]
    public async Task AcceptAtConnectIsSentAsAccept()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Connect ? Verdict.Accept : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Accept, await Transcript.SendAsync(mta, MilterEvent.Connect));
    }

    // ---- custom replies

    private static readonly SmtpReply NotWanted = SmtpReply.Create(550, "5.7.1", "Not wanted here");
    private static readonly SmtpReply TryLater = SmtpReply.Create(451, "4.7.1", "Greylisted, try again later");
    private static readonly SmtpReply MultiLine = SmtpReply.Create(554, "5.7.0", "Rejected for policy reasons", "See https://example.org/policy", "Contact postmaster");

    [Fact]
    public async Task RejectWithACustomReplySendsReplyCode()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.RcptTo ? Verdict.RejectWith(NotWanted) : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo);

        Assert.Equal(MilterReply.WithCode("550 5.7.1 Not wanted here"), reply);
        Assert.Equal(550, reply.Code);
        Assert.True(reply.IsRejection);
    }

    [Fact]
    public async Task TempFailWithACustomReplySendsReplyCode()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.MailFrom ? Verdict.TempFailWith(TryLater) : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        Assert.Equal(MilterReply.WithCode("451 4.7.1 Greylisted, try again later"), reply);
        Assert.True(reply.IsTemporaryFailure);
    }

    [Fact]
    public async Task AMultiLineReplyIsSentAsOnePacketWithCrlfBetweenLines()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.Data ? Verdict.RejectWith(MultiLine) : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.Data);

        Assert.Equal(
            ["554-5.7.0 Rejected for policy reasons", "554-5.7.0 See https://example.org/policy", "554 5.7.0 Contact postmaster"],
            reply.Lines);
    }

    [Fact]
    public async Task APercentSignInReplyTextIsEscapedForSendmail()
    {
        SmtpReply percent = SmtpReply.Create(550, "5.7.1", "Message is 100% spam");
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.EndOfHeaders ? Verdict.RejectWith(percent) : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.EndOfHeaders);

        Assert.Equal("550 5.7.1 Message is 100%% spam", reply.Text);
    }

    [Fact]
    public async Task AReplySetOnTheContextGoesWithTheNextRejectOfItsClass()
    {
        var probe = new Probe
        {
            Decide = (e, _, context) =>
            {
                if (e == MilterEvent.Helo)
                {
                    context.SetReply(NotWanted);
                }

                return e == MilterEvent.MailFrom ? Verdict.Reject : Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        MilterReply reply = await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        Assert.Equal(MilterReply.WithCode("550 5.7.1 Not wanted here"), reply);
    }

    [Fact]
    public async Task AReplySetOnTheContextIsUsedOnce()
    {
        var probe = new Probe
        {
            Decide = (e, arg, context) =>
            {
                if (e == MilterEvent.RcptTo && arg.Contains("first", StringComparison.Ordinal))
                {
                    context.SetReply(NotWanted);
                }

                return e == MilterEvent.RcptTo ? Verdict.Reject : Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        Assert.Equal(MilterReply.WithCode("550 5.7.1 Not wanted here"), await mta.RcptToAsync("<first@example.org>"));
        Assert.Equal(MilterReply.Reject, await mta.RcptToAsync("<second@example.org>"));
    }

    [Theory]
    [InlineData(VerdictKind.TempFail, 550, MilterReplyKind.TempFail)]
    [InlineData(VerdictKind.Reject, 451, MilterReplyKind.Reject)]
    public async Task AContextReplyOfTheOtherClassFallsBackToThePlainVerdict(VerdictKind verdict, int code, MilterReplyKind expected)
    {
        SmtpReply reply = code == 550 ? NotWanted : TryLater;
        var probe = new Probe
        {
            Decide = (e, _, context) =>
            {
                if (e != MilterEvent.RcptTo)
                {
                    return Verdict.Continue;
                }

                context.SetReply(reply);
                return VerdictOf(verdict);
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(new MilterReply(expected), await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo));
    }

    [Fact]
    public async Task AVerdictsOwnReplyWinsOverTheContextReply()
    {
        var probe = new Probe
        {
            Decide = (e, _, context) =>
            {
                context.SetReply(MultiLine);
                return e == MilterEvent.MailFrom ? Verdict.RejectWith(NotWanted) : Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.WithCode("550 5.7.1 Not wanted here"), await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom));
    }

    [Fact]
    public async Task ACustomReplyCanEndTheMessage()
    {
        var probe = new Probe { EndOfMessage = (_, _) => Verdict.RejectWith(NotWanted) };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.WithCode("550 5.7.1 Not wanted here"), await Transcript.RunUntilAsync(mta, MilterEvent.EndOfMessage));
    }

    internal static Verdict VerdictOf(VerdictKind kind) => kind switch
    {
        VerdictKind.Accept => Verdict.Accept,
        VerdictKind.Reject => Verdict.Reject,
        VerdictKind.TempFail => Verdict.TempFail,
        VerdictKind.Discard => Verdict.Discard,
        VerdictKind.Skip => Verdict.Skip,
        _ => Verdict.Continue,
    };
}
