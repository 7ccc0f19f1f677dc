using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class FilterFailureTests
{
    private static Probe ThrowingAt(MilterEvent at) => new()
    {
        Decide = (e, _, _) => e == at ? throw new InvalidDataException($"filter bug in {e}") : Verdict.Continue,
        EndOfMessage = (_, _) => at == MilterEvent.EndOfMessage ? throw new InvalidDataException("filter bug at end of message") : Verdict.Continue,
    };

    [Theory]
    [InlineData(MilterEvent.Connect)]
    [InlineData(MilterEvent.Helo)]
    [InlineData(MilterEvent.MailFrom)]
    [InlineData(MilterEvent.RcptTo)]
    [InlineData(MilterEvent.Data)]
    [InlineData(MilterEvent.Header)]
    [InlineData(MilterEvent.EndOfHeaders)]
    [InlineData(MilterEvent.Body)]
    [InlineData(MilterEvent.EndOfMessage)]
    public async Task AFilterThatThrowsGetsTempFailByDefaultAndTheNextConnectionStillWorks(MilterEvent at)
    {
        Probe probe = ThrowingAt(at);
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            Assert.Equal(MilterReply.TempFail, await Transcript.RunUntilAsync(mta, at));
        }

        LogCollector.Entry logged = await server.Logs.WaitForAsync($"failed in {at}");
        Assert.IsType<InvalidDataException>(logged.Exception);

        // A new connection gets a new filter instance, which works up to the same bug.
        await using MilterClient next = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.TempFail, await Transcript.RunUntilAsync(next, at));
        Assert.Equal(2, probe.Instances);
    }

    [Theory]
    [InlineData(VerdictKind.Reject, MilterReplyKind.Reject)]
    [InlineData(VerdictKind.TempFail, MilterReplyKind.TempFail)]
    [InlineData(VerdictKind.Accept, MilterReplyKind.Accept)]
    [InlineData(VerdictKind.Discard, MilterReplyKind.Discard)]
    [InlineData(VerdictKind.Continue, MilterReplyKind.Continue)]
    public async Task TheFallbackVerdictIsConfigurable(VerdictKind fallback, MilterReplyKind expected)
    {
        await using TestServer server = TestServer.Start(o => o with { FallbackVerdict = fallback }, ThrowingAt(MilterEvent.EndOfMessage).Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(new MilterReply(expected), await Transcript.RunUntilAsync(mta, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task AThrowInANoReplyCallbackBecomesTheFallbackAtEndOfMessage()
    {
        var probe = new Probe
        {
            Decide = (e, arg, _) => e == MilterEvent.Header && arg.StartsWith("X-Bad", StringComparison.Ordinal)
                ? throw new FormatException("cannot parse header")
                : Verdict.Continue,
        };
        const ProtocolFlags quiet = ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyEndOfHeaders | ProtocolFlags.NoReplyBody;
        await using TestServer server = TestServer.Start(probe.Register(quiet));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Data);

        Assert.Equal(MilterReply.NoReply, await mta.HeaderAsync("X-Bad", "value"));
        Assert.Equal(MilterReply.NoReply, await mta.HeaderAsync("Subject", "fine"));
        Assert.Equal(MilterReply.NoReply, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.NoReply, await mta.BodyAsync("body\r\n"));
        EndOfMessageResult eom = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.TempFail, eom.Reply);
        Assert.DoesNotContain("endofmessage", probe.Events);
        await server.Logs.WaitForAsync("failed in Header");
    }

    [Fact]
    public async Task AFailureKeptFromANoReplyCallbackDoesNotReachTheNextMessage()
    {
        var probe = new Probe
        {
            Decide = (e, arg, _) => e == MilterEvent.Header && arg.StartsWith("X-Bad", StringComparison.Ordinal)
                ? throw new FormatException("cannot parse header")
                : Verdict.Continue,
        };
        await using TestServer server = TestServer.Start(probe.Register(ProtocolFlags.NoReplyHeader));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);
        await mta.MailFromAsync("<a@example.org>");
        await mta.RcptToAsync("<b@example.org>");
        await mta.HeaderAsync("X-Bad", "1");
        Assert.Equal(MilterReply.TempFail, await mta.EndOfHeadersAsync());

        await mta.AbortAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        Assert.Equal(MilterReply.NoReply, await mta.HeaderAsync("Subject", "fine"));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);
    }

    [Fact]
    public async Task AThrowingAbortOrCloseCallbackIsLoggedAndTheConnectionGoesOn()
    {
        var probe = new Probe { OnAbortOrClose = e => throw new InvalidOperationException($"{e} failed") };
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo);
            await mta.AbortAsync();
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
            await mta.QuitAsync();
            Assert.True(await mta.WaitForCloseAsync());
        }

        await server.Logs.WaitForAsync("failed in Abort");
        await server.Logs.WaitForAsync("failed in Close");
        await using MilterClient next = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.SendAsync(next, MilterEvent.Connect));
    }

    [Fact]
    public async Task InAChainTheFirstFilterToDecideWinsAndLaterFiltersAreNotCalled()
    {
        var first = new Probe { Decide = (e, _, _) => e == MilterEvent.RcptTo ? Verdict.Reject : Verdict.Continue };
        var second = new Probe();
        await using TestServer server = TestServer.Start(first.Register(name: "first"), second.Register(name: "second"));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Reject, await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo));

        Assert.Contains("rcptto <rcpt@example.net>", first.Events);
        Assert.DoesNotContain("rcptto <rcpt@example.net>", second.Events);
        Assert.Contains("mailfrom <sender@example.org> SIZE=100", second.Events);
    }
}
