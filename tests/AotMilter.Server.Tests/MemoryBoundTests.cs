using System.Buffers.Binary;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>
/// What a peer can make the daemon hold is bounded: connections (--max-connections), macro frames, the chain's copy
/// of the message (headers included), and large frame buffers against the process's memory budget, which are given
/// back when the frame or connection ends. (The published binary's resident memory is asserted from /proc in the
/// end-to-end suite.)
/// </summary>
public class MemoryBoundTests
{
    [Fact]
    public async Task BeyondMaxConnectionsANewConnectionIsClosedAtOnceAndServedAgainWhenOneEnds()
    {
        await using TestServer server = TestServer.Start(o => o with { MaxConnections = 2 }, new Probe().Register());
        await using MilterClient first = await server.ConnectAndNegotiateAsync();
        MilterClient second = await server.ConnectAndNegotiateAsync();

        await using (MilterClient third = await server.ConnectAsync())
        {
            Assert.True(await third.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }

        await server.Logs.WaitForAsync("refusing new connections: --max-connections 2 reached");
        await second.QuitAsync();
        await second.DisposeAsync();
        await WaitUntilAsync(() => server.Server.ConnectionsOpen == 1);

        await using MilterClient fourth = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(fourth, MilterEvent.EndOfMessage));
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(first, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task MacrosAboveTheStageBoundCloseThatConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        await mta.MacroAsync('M', ("{big}", new string('m', MacroStore.MaxStageBytes)));

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.MacrosTooLarge));
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(bystander, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task MacrosUpToTheBoundAreKept()
    {
        var probe = new Probe { WatchedMacros = ["{big}"] };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);
        string value = new('m', MacroStore.MaxStageBytes - "{big}".Length);

        await mta.MacroAsync('M', ("{big}", value));

        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Contains(probe.Macros, m => m.EndsWith(value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MacrosBeyondTheWorkingSizeAreReservedFromTheBudgetAndGivenBackAtClose()
    {
        await using TestServer server = TestServer.Start(o => o with { MaxMemory = 2 * 1024 * 1024 }, new Probe().Register());
        MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        await mta.MacroAsync('M', ("{big}", new string('m', 40_000)));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        // The stage's storage past its working size, plus (until the next tick) the 40 KB frame's receive buffer.
        Assert.InRange(server.Server.Budget.Used, 40_000 - MacroStore.WorkingStageBytes, MacroStore.MaxStageBytes + (64 * 1024));

        await mta.QuitAsync();
        await mta.DisposeAsync();
        await server.WaitForNoConnectionsAsync();
        Assert.Equal(0, server.Server.Budget.Used);
    }

    [Fact]
    public async Task AChainKeepsHeadersWithinItsMessageBoundAndOnlyInsideAMessage()
    {
        Probe first = new(), second = new();
        await using TestServer server = TestServer.Start(o => o with { MaxChainMessageSize = 256 * 1024 }, first.Register(name: "first"), second.Register(name: "second"));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);
        string value = new('h', 60 * 1024);

        // Headers without a message are passed to the first filter but never kept.
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Outside", value));
        }

        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.DataAsync());
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Inside", value));
        }

        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        EndOfMessageResult result = await mta.EndOfMessageAsync();

        // 600 KB of headers do not fit a 256 KB copy: the later filter cannot be shown the message.
        Assert.Equal(MilterReplyKind.TempFail, result.Reply.Kind);
        await server.Logs.WaitForAsync("message exceeds 262144 bytes (headers and body)");
        Assert.DoesNotContain(second.Events, e => e.StartsWith("header", StringComparison.Ordinal));

        // A message that fits goes through the whole chain, so the copy started afresh.
        EndOfMessageResult next = await Transcript.MessageAsync(mta, "<c@example.org>", "<d@example.org>");
        Assert.Equal(MilterReply.Continue, next.Reply);
        Assert.Contains(second.Events, e => e.StartsWith("header From", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LargeFramesAreReservedFromTheBudgetAndAFrameThatDoesNotFitClosesOnlyItsConnection()
    {
        const int budget = 1536 * 1024;
        await using TestServer server = TestServer.Start(o => o with { MaxMemory = budget, MaxPacketSize = 1024 * 1024 }, new Probe().Register());
        await using MilterClient first = await server.ConnectAndNegotiateAsync();
        await using MilterClient second = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(first, MilterEvent.Data);
        await Transcript.RunUntilAsync(second, MilterEvent.Data);

        // Two frames of 900 KB announced and half sent: the first holds its buffer, the second does not fit.
        await first.SendBytesAsync(PartialHeaderFrame(900 * 1024, 450 * 1024));
        await WaitUntilAsync(() => server.Server.Budget.Used > 0);
        try
        {
            await second.SendBytesAsync(PartialHeaderFrame(900 * 1024, 450 * 1024));
        }
        catch (IOException)
        {
            // Refused as soon as its length was read: the rest of the write finds the connection closed.
        }

        Assert.True(await second.WaitForCloseAsync());
        await server.Logs.WaitForAsync("memory budget (--max-memory 1572864 bytes) has no room");
        Assert.InRange(server.Server.Budget.Used, 1, budget);

        // While the budget is spent, new connections are refused at once.
        await using (MilterClient refused = await server.ConnectAsync())
        {
            Assert.True(await refused.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }

        // The first frame completes and is answered; its buffer goes back once a small frame follows.
        byte[] rest = new byte[(900 * 1024) - (450 * 1024) - 1];
        Array.Fill(rest, (byte)'x');
        await first.SendBytesAsync(rest);
        await first.SendBytesAsync(new byte[1]);
        Assert.Equal('c', (await first.ReadFrameAsync())!.Letter);
        Assert.Equal(MilterReply.Continue, await first.EndOfHeadersAsync());
        await WaitUntilAsync(() => server.Server.Budget.Used == 0);

        await using MilterClient after = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(after, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task TheChainsCopyIsReservedFromTheBudgetAndGivenBackWhenTheConnectionEnds()
    {
        Probe first = new(), second = new();
        await using TestServer server = TestServer.Start(o => o with { MaxMemory = 4 * 1024 * 1024 }, first.Register(name: "first"), second.Register(name: "second"));
        MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.EndOfHeaders);
        byte[] chunk = new byte[60 * 1024];
        Array.Fill(chunk, (byte)'b');
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(MilterReply.Continue, await mta.BodyAsync(chunk));
        }

        Assert.True(server.Server.Budget.Used >= 1024 * 1024, $"reserved {server.Server.Budget.Used}");
        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);

        await mta.QuitAsync();
        await mta.DisposeAsync();
        await server.WaitForNoConnectionsAsync();
        Assert.Equal(0, server.Server.Budget.Used);
    }

    [Fact]
    public async Task ARepliedBodyTheMtaDoesNotTakeIsReservedAndOneThatDoesNotFitGetsTheFallbackWithoutEdits()
    {
        // A filter replaces each body with 2 MiB; the budget is 5 MiB (a replacement is held twice for a moment: the
        // filter's edit and the output). An MTA that sends end of message and never reads leaves most of the
        // replacement in the daemon's output, reserved; a second one has no room for its own, so it gets the
        // fallback (tempfail) and no edit; once the first reads, its reservation goes back.
        byte[] replacement = new byte[2 * 1024 * 1024];
        Array.Fill(replacement, (byte)'r');
        var probe = new Probe { EndOfMessage = (editor, _) => { editor.ReplaceBody(replacement); return Verdict.Continue; } };
        await using TestServer server = TestServer.Start(o => o with { MaxMemory = 5 * 1024 * 1024 }, probe.Register(actions: ActionFlags.ChangeBody));
        await using MilterClient slow = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(slow, MilterEvent.Body);
        await slow.SendFrameAsync((byte)'E');

        // Its end of message has written the reply and let go of the filter's copy of the new body (the edit is
        // counted only then): until then that copy holds the budget too, and the second message could race it.
        await WaitUntilAsync(() => server.Server.Metrics.Modifications >= 1);
        Assert.True(server.Server.Budget.Used >= 1024 * 1024, $"reserved {server.Server.Budget.Used}");

        await using MilterClient second = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(second, MilterEvent.Body));
        EndOfMessageResult refused = await second.EndOfMessageAsync();
        Assert.Equal(MilterReply.TempFail, refused.Reply);
        Assert.Empty(refused.Modifications);
        await server.Logs.WaitForAsync("has no room for this message's");

        // The slow MTA takes its reply at last: every byte of the new body, then the verdict; the reservation is back.
        long received = 0;
        RawFrame? frame;
        while ((frame = await slow.ReadFrameAsync()) is { Letter: 'b' })
        {
            received += frame.Payload.Length;
        }

        Assert.Equal(replacement.Length, received);
        Assert.Equal('c', frame!.Letter);
        await WaitUntilAsync(() => server.Server.Budget.Used == 0);

        // With room again, the next message gets its new body.
        EndOfMessageResult served = await Transcript.MessageAsync(second, "<sender@example.org>", "<rcpt@example.net>");
        Assert.Equal(MilterReply.Continue, served.Reply);
        Assert.Equal(replacement.Length, served.Modifications.OfType<Modification.ReplaceBody>().Sum(m => m.Chunk.Length));
    }

    [Fact]
    public async Task PipelinedCommandsWhoseRepliesWaitAreAllAnsweredInOrderOnceTheMtaReads()
    {
        // 100,000 header frames in one burst, 500 KB of replies: processing pauses whenever 64 KiB of replies wait
        // to be sent (so an MTA that does not read cannot make them pile up) and must go on, from the frames already
        // buffered, each time they go out.
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Data);
        const int small = 100_000;
        byte[] burst = new byte[small * 9];
        for (int i = 0; i < small; i++)
        {
            // "L" + "a\0b\0": a header frame of 9 bytes, answered with a 5-byte continue.
            BinaryPrimitives.WriteUInt32BigEndian(burst.AsSpan(i * 9), 5);
            "La\0b\0"u8.CopyTo(burst.AsSpan((i * 9) + 4));
        }

        Task sending = mta.SendBytesAsync(burst);
        await Task.Delay(500);
        for (int i = 0; i < small; i++)
        {
            Assert.Equal('c', (await mta.ReadFrameAsync())!.Letter);
        }

        await sending;
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(0, server.Server.Budget.Used);
    }

    /// <summary>The start of a header frame announcing <paramref name="payload"/> bytes, <paramref name="sent"/> of them sent.</summary>
    private static byte[] PartialHeaderFrame(int payload, int sent)
    {
        byte[] bytes = new byte[5 + sent];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)(payload + 1));
        bytes[4] = (byte)'L';
        bytes.AsSpan(5).Fill((byte)'x');
        bytes[5] = (byte)'X';
        bytes[6] = 0;
        return bytes;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
