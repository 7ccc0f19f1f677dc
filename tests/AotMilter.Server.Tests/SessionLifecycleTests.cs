using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class SessionLifecycleTests
{
    [Fact]
    public async Task QuitNewConnectionRunsCloseAndANewFilterInstanceServesTheNextConnectWithoutRenegotiation()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("first.example.org", ConnectFamily.IPv4, 1, "192.0.2.1"));
        await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");

        await mta.QuitNewConnectionAsync();
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("second.example.org", ConnectFamily.IPv4, 2, "192.0.2.2"));
        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("second.example.org"));

        Assert.Equal(2, probe.Instances);
        Assert.Equal("close", probe.EventsOf(1)[^1]);
        Assert.Single(probe.EventsOf(1), "close");
        Assert.Equal(["connect second.example.org IPv4 2 192.0.2.2", "helo second.example.org"], probe.EventsOf(2));
    }

    [Fact]
    public async Task QuitNewConnectionInTheMiddleOfAMessageAbortsItFirst()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Header);

        await mta.QuitNewConnectionAsync();
        await mta.ConnectAsync("next", ConnectFamily.Unknown, 0, "");

        Assert.Equal(["abort", "close"], probe.EventsOf(1).TakeLast(2));
    }

    [Fact]
    public async Task QuitRunsCloseOnceAndClosesTheConnection()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        await mta.QuitAsync();

        Assert.True(await mta.WaitForCloseAsync());
        await server.WaitForNoConnectionsAsync();
        Assert.Equal(["connect client.example.org IPv4 50000 192.0.2.10", "helo client.example.org", "close"], probe.Events);
    }

    [Fact]
    public async Task AnMtaThatHangsUpMidMessageGetsAbortThenClose()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        }

        await probe.WaitForEventAsync("close");
        Assert.Equal(["body 8 bytes", "abort", "close"], probe.Events.TakeLast(3));
    }

    [Fact]
    public async Task CloseRunsForAConnectionThatWasNeverUsed()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
        }

        await probe.WaitForEventAsync("close");
        Assert.Equal(["close"], probe.Events);
    }

    [Fact]
    public async Task AbortRunsForAMessageNotYetDecided()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo);

        await mta.AbortAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<next@example.org>"));

        Assert.Equal(["rcptto <rcpt@example.net>", "abort", "mailfrom <next@example.org>"], probe.Events.TakeLast(3));
    }

    [Fact]
    public async Task AbortAfterEndOfMessageDoesNotRunTheAbortCallback()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.EndOfMessage);

        await mta.AbortAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<next@example.org>"));

        Assert.DoesNotContain("abort", probe.Events);
    }

    [Theory]
    [InlineData(MilterEvent.MailFrom, VerdictKind.Reject)]
    [InlineData(MilterEvent.MailFrom, VerdictKind.Accept)]
    [InlineData(MilterEvent.Data, VerdictKind.TempFail)]
    [InlineData(MilterEvent.Header, VerdictKind.Discard)]
    public async Task AbortAfterTheFilterDecidedTheMessageDoesNotRunTheAbortCallback(MilterEvent at, VerdictKind verdict)
    {
        var probe = new Probe { Decide = (e, _, _) => e == at ? EventAndVerdictTests.VerdictOf(verdict) : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.NotEqual(MilterReply.Continue, await Transcript.RunUntilAsync(mta, at));

        await mta.AbortAsync();
        await mta.QuitAsync();

        Assert.True(await mta.WaitForCloseAsync());
        await probe.WaitForEventAsync("close");
        Assert.DoesNotContain("abort", probe.Events);
    }

    [Fact]
    public async Task AbortAfterARejectedRecipientStillRunsTheAbortCallback()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.RcptTo ? Verdict.Reject : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Reject, await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo));

        await mta.AbortAsync();
        await mta.QuitAsync();

        await probe.WaitForEventAsync("close");
        Assert.Equal(["rcptto <rcpt@example.net>", "abort", "close"], probe.Events.TakeLast(3));
    }

    [Fact]
    public async Task AbortOutsideAMessageDoesNotRunTheAbortCallback()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        await mta.AbortAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));

        Assert.DoesNotContain("abort", probe.Events);
    }

    [Fact]
    public async Task ANewMailWithoutAbortEndsTheOpenMessageAndStartsAfresh()
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.AddHeader("X-Count", "1");
                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Body);

        EndOfMessageResult second = await Transcript.MessageAsync(mta, "<second@example.org>", "<x@example.org>");

        Assert.Equal(["body 8 bytes", "abort", "mailfrom <second@example.org>"], probe.Events.Skip(7).Take(3));
        Assert.Equal([new Modification.AddHeader("X-Count", "1")], second.Modifications);
    }

    [Fact]
    public async Task ManyMessagesOnOneConnectionEachGetTheirOwnVerdict()
    {
        var probe = new Probe
        {
            Decide = (e, arg, _) => e == MilterEvent.MailFrom && arg.Contains("spammer", StringComparison.Ordinal) ? Verdict.Reject : Verdict.Continue,
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        for (int i = 0; i < 10; i++)
        {
            if (i % 3 == 0)
            {
                Assert.Equal(MilterReply.Reject, await mta.MailFromAsync($"<spammer{i}@example.org>"));
            }
            else
            {
                Assert.Equal(MilterReply.Continue, (await Transcript.MessageAsync(mta, $"<friend{i}@example.org>", "<me@example.org>")).Reply);
            }
        }

        Assert.Equal(1, probe.Instances);
    }
}
