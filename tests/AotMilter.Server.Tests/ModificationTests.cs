using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using M = AotMilter.Mta.Modification;

namespace AotMilter.Server.Tests;

public class ModificationTests
{
    private const ActionFlags AllEdits = ActionFlags.AddHeaders | ActionFlags.ChangeHeaders | ActionFlags.AddRecipient
        | ActionFlags.AddRecipientWithArgs | ActionFlags.DeleteRecipient | ActionFlags.ChangeSender | ActionFlags.Quarantine
        | ActionFlags.ChangeBody;

    private static async Task<EndOfMessageResult> RunMessageAsync(TestServer server, ProtocolFlags offered = ProtocolFlags.AllVersion6)
    {
        await using MilterClient mta = await server.ConnectAndNegotiateAsync(protocol: offered);
        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        return await mta.EndOfMessageAsync();
    }

    [Fact]
    public async Task EveryModificationArrivesInOrderWithItsPayloadAndTheBodyComesLast()
    {
        byte[] body = new byte[100 * 1024];
        new Random(42).NextBytes(body);
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.ReplaceBody(body.AsSpan(0, 70_000));
                editor.AddHeader("X-Scanned", "yes");
                editor.InsertHeader(0, "X-First", "top");
                editor.ChangeHeader("Subject", 1, "[SPAM] test message");
                editor.DeleteHeader("X-Old", 2);
                editor.AddRecipient("<added@example.org>");
                editor.AddRecipient("<notify@example.org>", "NOTIFY=NEVER ORCPT=rfc822;x@example.org");
                editor.DeleteRecipient("<rcpt@example.net>");
                editor.ChangeSender("<bounces@example.org>", "RET=HDRS");
                editor.Quarantine("held for review");
                editor.ReplaceBody(body.AsSpan(70_000));
                return Verdict.Accept;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: AllEdits));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(MilterReply.Accept, result.Reply);
        Assert.Equal(
            new M[]
            {
                new M.AddHeader("X-Scanned", "yes"),
                new M.InsertHeader(0, "X-First", "top"),
                new M.ChangeHeader(1, "Subject", "[SPAM] test message"),
                new M.ChangeHeader(2, "X-Old", ""),
                new M.AddRecipient("<added@example.org>"),
                new M.AddRecipient("<notify@example.org>", "NOTIFY=NEVER ORCPT=rfc822;x@example.org"),
                new M.DeleteRecipient("<rcpt@example.net>"),
                new M.ChangeSender("<bounces@example.org>", "RET=HDRS"),
                new M.Quarantine("held for review"),
            },
            result.Modifications.Take(9));
        Assert.Equal([65535, 100 * 1024 - 65535], result.Modifications.Skip(9).Cast<M.ReplaceBody>().Select(c => c.Chunk.Length));
        Assert.Equal(body, result.ReplacedBody);
        Assert.True(((M.ChangeHeader)result.Modifications[3]).IsDelete);
    }

    [Fact]
    public async Task AChangeOfSenderWithoutArgumentsCarriesOneString()
    {
        var probe = new Probe { EndOfMessage = (editor, _) => { editor.ChangeSender("<new@example.org>"); return Verdict.Continue; } };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.ChangeSender));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal([new M.ChangeSender("<new@example.org>")], result.Modifications);
        Assert.Equal(MilterReply.Continue, result.Reply);
    }

    [Fact]
    public async Task ABodyOfExactlyOneChunkIsSentAsOneFrame()
    {
        var probe = new Probe { EndOfMessage = (editor, _) => { editor.ReplaceBody(new byte[65535]); return Verdict.Continue; } };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.ChangeBody));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(65535, Assert.IsType<M.ReplaceBody>(Assert.Single(result.Modifications)).Chunk.Length);
    }

    [Fact]
    public async Task WithLeadingSpaceNegotiatedAddedHeaderValuesCarryTheirOwnSpace()
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.AddHeader("X-A", "value");
                editor.InsertHeader(1, "X-B", "\tindented");
                editor.ChangeHeader("X-C", 1, "changed");
                editor.DeleteHeader("X-D");
                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(
            probe.Register(ProtocolFlags.HeaderLeadingSpace, ActionFlags.AddHeaders | ActionFlags.ChangeHeaders));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(
            new M[] { new M.AddHeader("X-A", " value"), new M.InsertHeader(1, "X-B", "\tindented"), new M.ChangeHeader(1, "X-C", " changed"), new M.ChangeHeader(1, "X-D", "") },
            result.Modifications);
    }

    [Fact]
    public async Task HeaderValuesAreFoldedWithBareLineFeeds()
    {
        var probe = new Probe { EndOfMessage = (editor, _) => { editor.AddHeader("X-Long", "first\r\n\tsecond"); return Verdict.Continue; } };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal([new M.AddHeader("X-Long", "first\n\tsecond")], result.Modifications);
    }

    [Theory]
    [InlineData(VerdictKind.Reject, MilterReplyKind.Reject)]
    [InlineData(VerdictKind.TempFail, MilterReplyKind.TempFail)]
    [InlineData(VerdictKind.Discard, MilterReplyKind.Discard)]
    public async Task EditsAreDroppedWhenTheMessageIsNotDelivered(VerdictKind verdict, MilterReplyKind expected)
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.AddHeader("X-Scanned", "yes");
                editor.ReplaceBody("new body\r\n"u8);
                return EventAndVerdictTests.VerdictOf(verdict);
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders | ActionFlags.ChangeBody));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Empty(result.Modifications);
        Assert.Equal(new MilterReply(expected), result.Reply);
    }

    [Fact]
    public async Task AModificationWhoseActionWasNotNegotiatedMakesTheFilterFailWithTheFallbackVerdict()
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.AddHeader("X-Before", "kept?");
                editor.ChangeSender("<someone@example.org>");
                return Verdict.Accept;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(MilterReply.TempFail, result.Reply);
        Assert.Empty(result.Modifications);
        LogCollector.Entry failure = await server.Logs.WaitForAsync("failed in EndOfMessage");
        Assert.IsType<InvalidOperationException>(failure.Exception);
    }

    [Fact]
    public async Task AFailingFiltersOwnEditsAreTakenBackAndTheOthersAreKept()
    {
        var first = new Probe { EndOfMessage = (editor, _) => { editor.AddHeader("X-First", "1"); return Verdict.Continue; } };
        var second = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.AddHeader("X-Second", "2");
                editor.ReplaceBody("replaced\r\n"u8);
                throw new InvalidDataException("boom");
            },
        };
        await using TestServer server = TestServer.Start(o => o with { FallbackVerdict = VerdictKind.Continue },
            first.Register(actions: ActionFlags.AddHeaders, name: "first"),
            second.Register(actions: ActionFlags.AddHeaders | ActionFlags.ChangeBody, name: "second"));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal([new M.AddHeader("X-First", "1")], result.Modifications);
        await server.Logs.WaitForAsync("filter second failed in EndOfMessage");
    }

    [Fact]
    public async Task ProgressFramesAreSentBeforeTheEditsAndTheVerdict()
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.Progress();
                editor.AddHeader("X-Slow", "yes");
                editor.Progress();
                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders));

        EndOfMessageResult result = await RunMessageAsync(server);

        Assert.Equal(2, result.ProgressCount);
        Assert.Equal([new M.AddHeader("X-Slow", "yes")], result.Modifications);
        Assert.Equal(MilterReply.Continue, result.Reply);
    }

    [Fact]
    public async Task ProgressFromAnEditorKeptPastEndOfMessageSendsNothing()
    {
        // Outside end of message a progress frame would be taken for the answer to the command the MTA waits on.
        MessageEditor? kept = null;
        var probe = new Probe
        {
            Decide = (e, _, _) =>
            {
                if (e == MilterEvent.Header)
                {
                    kept?.Progress();
                }

                return Verdict.Continue;
            },
            EndOfMessage = (editor, _) =>
            {
                kept = editor;
                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        mta.ProgressOnlyAtEndOfMessage = true;   // as Sendmail: progress before any other answer is an error
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");
        EndOfMessageResult second = await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");

        Assert.NotNull(kept);
        Assert.Equal(0, mta.ProgressCount);
        Assert.Equal(MilterReply.Continue, second.Reply);
    }

    [Fact]
    public async Task EditsDoNotLeakIntoTheNextMessage()
    {
        int messages = 0;
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                if (Interlocked.Increment(ref messages) == 1)
                {
                    editor.AddHeader("X-Only-First", "1");
                }

                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.AddHeaders));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        EndOfMessageResult first = await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");
        EndOfMessageResult second = await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");

        Assert.Single(first.Modifications);
        Assert.Empty(second.Modifications);
    }
}
