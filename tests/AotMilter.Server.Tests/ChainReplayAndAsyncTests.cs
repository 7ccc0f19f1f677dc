using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>Chains shown each other's changes; callbacks that complete later; progress; macro requests.</summary>
public class ChainReplayAndAsyncTests
{
    [Fact]
    public async Task ALaterFilterOfAChainSeesTheHeadersAndBodyAsTheEarlierFilterLeftThem()
    {
        var seen = new List<string>();
        MilterRegistration first = Register("first", ActionFlags.AddHeaders | ActionFlags.ChangeHeaders | ActionFlags.ChangeBody, () => new Editing());
        MilterRegistration second = Register("second", ActionFlags.AddHeaders, () => new Watching(seen));
        await using TestServer server = TestServer.Start(first, second);
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal(["header X-First: added", "eoh", "body new body\r\n", "eom"], seen);
        Assert.Equal(
            [
                new Modification.ChangeHeader(1, "Subject", ""),
                new Modification.AddHeader("X-First", "added"),
                new Modification.AddHeader("X-Second", "saw 1 header(s)"),
            ],
            result.Modifications.Where(m => m is not Modification.ReplaceBody).ToArray());

        // One replacement, as the first filter made it: not the second filter's view appended to it.
        Assert.Equal("new body\r\n", Encoding.ASCII.GetString(result.ReplacedBody!));
    }

    [Fact]
    public async Task TheFirstDecisionOfAChainWinsAndLaterFiltersAreNotAsked()
    {
        var seen = new List<string>();
        MilterRegistration rejecting = Register("rejecting", ActionFlags.None, () => new RejectingAtEnd());
        MilterRegistration watching = Register("watching", ActionFlags.AddHeaders, () => new Watching(seen));
        await using TestServer server = TestServer.Start(rejecting, watching);
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReplyKind.Reject, result.Reply.Kind);
        Assert.Empty(result.Modifications);
        Assert.Empty(seen);
    }

    [Fact]
    public async Task AnEndOfMessageThatAwaitsIsAnsweredWhenItCompletesWithProgressMeanwhile()
    {
        MilterRegistration slow = Register("slow", ActionFlags.AddHeaders, () => new SlowEnd(TimeSpan.FromMilliseconds(1000)));
        await using TestServer server = TestServer.Start(o => o with { ProgressInterval = TimeSpan.FromMilliseconds(100) }, slow);
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.Accept, result.Reply);
        Assert.Equal([new Modification.AddHeader("X-Slow", "done")], result.Modifications);
        // About ten; a loaded machine may fire the timer late, so only require that progress kept coming.
        Assert.InRange(result.ProgressCount, 2, 20);
    }

    [Fact]
    public async Task AnAsyncCallbackThatFailsAfterAwaitingGetsTheFallbackAndItsEditsAreDropped()
    {
        MilterRegistration failing = Register("failing", ActionFlags.AddHeaders, () => new FailingLater());
        await using TestServer server = TestServer.Start(failing);
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReplyKind.TempFail, result.Reply.Kind);
        Assert.Empty(result.Modifications);
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("filter failing failed in EndOfMessage", StringComparison.Ordinal));

        // The connection goes on: the next message works.
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
    }

    [Fact]
    public async Task AChainResumesWithTheNextFilterAfterAnAwaitedRecipientCheck()
    {
        MilterRegistration lookup = Register("lookup", ActionFlags.None, () => new AwaitingRecipientCheck());
        MilterRegistration reject = Register("reject", ActionFlags.None, () => new RejectingRecipient());
        await using TestServer server = TestServer.Start(lookup, reject);
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<ok@example.org>"));
        Assert.Equal(MilterReplyKind.Reject, (await mta.RcptToAsync("<bad@example.org>")).Kind);
        Assert.Equal(MilterReplyKind.TempFail, (await mta.RcptToAsync("<unknown@example.org>")).Kind);
    }

    [Fact]
    public async Task TheMacrosFiltersReadAreRequestedPerStageInTheNegotiation()
    {
        MilterRegistration a = new("a", "", "A", ProtocolFlags.None, ActionFlags.None,
            [new MacroRequest(MacroStage.Connect, ["j", "{daemon_name}"]), new MacroRequest(MacroStage.MailFrom, ["{auth_authen}"])],
            _ => new Watching([]), null);
        MilterRegistration b = new("b", "", "B", ProtocolFlags.None, ActionFlags.None,
            [new MacroRequest(MacroStage.Connect, ["j", "_"]), new MacroRequest(MacroStage.EndOfMessage, ["i"])],
            _ => new Watching([]), null);
        await using TestServer server = TestServer.Start(a, b);
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync();

        Assert.True((reply.Actions & ActionFlags.SetSymbolList) != 0);
        Assert.Equal("j {daemon_name} _", reply.SymbolLists[MacroStage.Connect]);
        Assert.Equal("{auth_authen}", reply.SymbolLists[MacroStage.MailFrom]);
        Assert.Equal("i", reply.SymbolLists[MacroStage.EndOfMessage]);
    }

    [Fact]
    public async Task AnMtaThatCannotTakeMacroRequestsGetsNone()
    {
        MilterRegistration a = new("a", "", "A", ProtocolFlags.None, ActionFlags.None,
            [new MacroRequest(MacroStage.Connect, ["j"])], _ => new Watching([]), null);
        await using TestServer server = TestServer.Start(a);
        await using MilterClient mta = await server.ConnectAsync();

        NegotiationResult reply = await mta.NegotiateAsync(version: 6, actions: (ActionFlags)0xFF);

        Assert.Equal(ActionFlags.None, reply.Actions);
        Assert.Empty(reply.SymbolLists);
    }

    [Fact]
    public async Task AnAwaitedCloseCallbackRunsBeforeTheConnectionIsDone()
    {
        var closed = new TaskCompletionSource();
        MilterRegistration a = Register("a", ActionFlags.None, () => new AwaitingClose(closed));
        await using TestServer server = TestServer.Start(a);
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.Helo);
            await mta.QuitAsync();
        }

        await closed.Task.WaitAsync(MilterClient.DefaultTimeout);
        await server.WaitForNoConnectionsAsync();
    }

    private static MilterRegistration Register(string name, ActionFlags actions, Func<FilterDispatcher> create)
        => new(name, "", name, ProtocolFlags.None, actions, create);

    private sealed class Editing : FilterDispatcher
    {
        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context)
        {
            editor.DeleteHeader("Subject");
            editor.AddHeader("X-First", "added");
            editor.ReplaceBody("new body\r\n"u8);
            return Verdict.Continue;
        }
    }

    private sealed class Watching(List<string> seen) : FilterDispatcher
    {
        private int _headers;

        public override Verdict Header(HeaderField header, MilterContext context)
        {
            _headers++;
            seen.Add($"header {header.NameString()}: {header.ValueString()}");
            return Verdict.Continue;
        }

        public override Verdict EndOfHeaders(MilterContext context)
        {
            seen.Add("eoh");
            return Verdict.Continue;
        }

        public override Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context)
        {
            seen.Add("body " + Encoding.ASCII.GetString(chunk));
            return Verdict.Continue;
        }

        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context)
        {
            seen.Add("eom");
            editor.AddHeader("X-Second", $"saw {_headers} header(s)");
            return Verdict.Continue;
        }
    }

    private sealed class RejectingAtEnd : FilterDispatcher
    {
        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context) => Verdict.Reject;
    }

    private sealed class SlowEnd(TimeSpan delay) : FilterDispatcher
    {
        public override async ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context)
        {
            await Task.Delay(delay);
            editor.AddHeader("X-Slow", "done");
            return Verdict.Accept;
        }
    }

    private sealed class FailingLater : FilterDispatcher
    {
        public override async ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context)
        {
            editor.AddHeader("X-Never", "sent");
            await Task.Delay(20);
            throw new InvalidOperationException("scanner unreachable");
        }
    }

    private sealed class AwaitingRecipientCheck : FilterDispatcher
    {
        public override ValueTask<Verdict> RcptToAsync(EnvelopeAddress recipient, MilterContext context)
        {
            string address = recipient.Address.ToString();
            return Check(address);

            static async ValueTask<Verdict> Check(string address)
            {
                await Task.Delay(30);
                return address.StartsWith("unknown", StringComparison.Ordinal) ? Verdict.TempFail : Verdict.Continue;
            }
        }
    }

    private sealed class RejectingRecipient : FilterDispatcher
    {
        public override Verdict RcptTo(EnvelopeAddress recipient, MilterContext context)
            => recipient.Address.Bytes.StartsWith("bad"u8) ? Verdict.Reject : Verdict.Continue;
    }

    private sealed class AwaitingClose(TaskCompletionSource closed) : FilterDispatcher
    {
        public override async ValueTask CloseAsync(MilterContext context)
        {
            await Task.Delay(50);
            closed.TrySetResult();
        }
    }
}
