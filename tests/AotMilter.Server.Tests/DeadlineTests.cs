using System.Buffers.Binary;
using System.Diagnostics;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>
/// Every wait has a deadline: negotiation, a frame from its first byte, each callback (with its token), progress at
/// end of message; an MTA that hangs up while a callback runs cancels it. Real sockets, real timing (deadlines of a
/// second or less so the suite stays quick).
/// </summary>
public class DeadlineTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task AnEndOfMessageThatOutlivesAnMtaWhichHungUpIsCancelledAndTheDaemonLivesOn()
    {
        var filter = new Hanging();
        await using TestServer server = TestServer.Start(o => o with { ProgressInterval = TimeSpan.FromMilliseconds(50) }, filter.Register(ActionFlags.AddHeaders));
        MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Body);
        await mta.SendFrameAsync((byte)MilterCommand.EndOfMessage);

        // Progress arrives while the callback runs; then the MTA goes away without waiting for the verdict.
        Assert.Equal('p', (await mta.ReadFrameAsync())!.Letter);
        await filter.Started.Task.WaitAsync(MilterClient.DefaultTimeout);
        await mta.DisposeAsync();

        // The hang-up is seen at once, not at a deadline: the callback's token fires and the close callback runs.
        Stopwatch watch = Stopwatch.StartNew();
        await filter.Cancelled.Task.WaitAsync(MilterClient.DefaultTimeout);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"cancelled after {watch.Elapsed}");
        await filter.Closed.Task.WaitAsync(MilterClient.DefaultTimeout);
        await server.WaitForNoConnectionsAsync();
        await server.Logs.WaitForAsync("hung up while callback of hanging in EndOfMessage ran");

        // Progress ticks after the hang-up found no socket to write to, and nothing took the process down.
        await Task.Delay(200);
        await using MilterClient next = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(next, MilterEvent.Body));
    }

    [Fact]
    public async Task ACallbackThatDoesNotReturnGetsTheFallbackAtItsDeadlineAndTheConnectionGoesOn()
    {
        var filter = new Hanging { HangAtRecipient = "slow" };
        await using TestServer server = TestServer.Start(o => o with { CallbackTimeout = Short }, filter.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        Stopwatch watch = Stopwatch.StartNew();
        MilterReply reply = await mta.RcptToAsync("<slow@example.org>");

        Assert.Equal(MilterReplyKind.TempFail, reply.Kind);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(5));
        Assert.True(filter.Cancelled.Task.IsCompleted);
        await server.Logs.WaitForAsync("callback of hanging in RcptTo passed its deadline (1s)");

        // The next recipient is checked afresh, with a token that has not fired.
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<quick@example.org>"));
        Assert.False(filter.LastToken.IsCancellationRequested);
    }

    [Fact]
    public async Task ACallbackThatIgnoresItsTokenIsAbandonedWithTheFallbackAndOnlyItsConnectionCloses()
    {
        var filter = new Hanging { HangAtRecipient = "stuck", IgnoreToken = true };
        await using TestServer server = TestServer.Start(o => o with { CallbackTimeout = Short }, filter.Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);

        MilterReply reply = await mta.RcptToAsync("<stuck@example.org>");

        Assert.Equal(MilterReplyKind.TempFail, reply.Kind);
        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync("did not return 1000 ms after it was cancelled; the fallback verdict sent, the callback is abandoned");
        using (var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout))
        {
            while (server.Server.ConnectionsOpen != 1)
            {
                await Task.Delay(10, deadline.Token);
            }
        }

        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(bystander, MilterEvent.EndOfMessage));

        // The abandoned callback returning at last changes nothing.
        filter.Release.TrySetResult();
        await Task.Delay(100);
        Assert.Equal(MilterReply.Continue, await bystander.MailFromAsync("<again@example.org>"));
    }

    [Fact]
    public async Task AnAbandonedCallbackThatHasNotReturnedCountsTowardMaxConnections()
    {
        // The abandoned callback still holds its session: a filter that hangs on every message must not let the
        // daemon take on sessions without end.
        var filter = new Hanging { HangAtRecipient = "stuck", IgnoreToken = true };
        await using TestServer server = TestServer.Start(o => o with { CallbackTimeout = Short, MaxConnections = 2 }, filter.Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.MailFrom);
            Assert.Equal(MilterReplyKind.TempFail, (await mta.RcptToAsync("<stuck@example.org>")).Kind);
            Assert.True(await mta.WaitForCloseAsync());
        }

        await WaitUntilAsync(() => server.Server.ConnectionsOpen == 1 && server.Server.AbandonedCallbacks == 1);
        await using (MilterClient refused = await server.ConnectAsync())
        {
            Assert.True(await refused.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }

        await server.Logs.WaitForAsync("--max-connections 2 reached (1 of them closed connections whose abandoned callback has not returned)");

        // It returns at last: its place is free again.
        filter.Release.TrySetResult();
        await WaitUntilAsync(() => server.Server.AbandonedCallbacks == 0);
        await using MilterClient after = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(after, MilterEvent.EndOfMessage));
    }

    [Theory]
    [InlineData(true, "callback of stuck-close in close did not return 1000 ms after it was cancelled")]
    [InlineData(false, "close callbacks of stuck-close did not return within 1s")]
    public async Task ACloseCallbackThatNeverReturnsIsGivenUpAtTheDeadlineAndTheConnectionCountedClosed(bool quit, string logged)
    {
        var release = new TaskCompletionSource();
        MilterRegistration stuck = new("stuck-close", "", "stuck-close", ProtocolFlags.None, ActionFlags.None, () => new StuckClose(release.Task));
        await using TestServer server = TestServer.Start(o => o with { CallbackTimeout = Short }, stuck);
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.Helo);
            if (quit)
            {
                // QUIT: the close callbacks run while the connection waits for them (then the MTA hangs up).
                await mta.QuitAsync();
            }

            // Otherwise end of file: they run after the descriptor is closed.
        }

        await server.WaitForNoConnectionsAsync();
        await server.Logs.WaitForAsync(logged);
        release.TrySetResult();
    }

    [Fact]
    public async Task AChainPastItsDeadlineSendsNoneOfItsEditsEvenWithAnAcceptingFallback()
    {
        var hanging = new Hanging();
        MilterRegistration editing = new("editing", "", "editing", ProtocolFlags.None, ActionFlags.AddHeaders, () => new AddsHeader());
        await using TestServer server = TestServer.Start(
            o => o with { CallbackTimeout = Short, FallbackVerdict = VerdictKind.Accept }, editing, hanging.Register(ActionFlags.AddHeaders));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Body);

        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReply.Accept, result.Reply);
        Assert.Empty(result.Modifications);
    }

    [Fact]
    public async Task ProgressAtEndOfMessageStopsAtTheCallbackDeadline()
    {
        var filter = new Hanging();
        await using TestServer server = TestServer.Start(
            o => o with { CallbackTimeout = Short, ProgressInterval = TimeSpan.FromMilliseconds(100) }, filter.Register(ActionFlags.AddHeaders));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Body);

        EndOfMessageResult result = await mta.EndOfMessageAsync();

        Assert.Equal(MilterReplyKind.TempFail, result.Reply.Kind);
        Assert.Empty(result.Modifications);
        Assert.InRange(result.ProgressCount, 1, 12);
    }

    [Fact]
    public async Task AFrameTrickledAByteAtATimeIsCutAtTheFrameDeadline()
    {
        await using TestServer server = TestServer.Start(o => o with { FrameTimeout = Short }, new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        byte[] header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, 101);
        header[4] = (byte)'M';
        await mta.SendBytesAsync(header);
        Stopwatch watch = Stopwatch.StartNew();
        bool closed = false;
        for (int i = 0; i < 40 && !closed; i++)
        {
            // One byte every 200 ms: before, each byte restarted the (7210 s) read timeout.
            await Task.Delay(200);
            try
            {
                await mta.SendBytesAsync("x"u8.ToArray());
            }
            catch (IOException)
            {
                closed = true;
            }
        }

        Assert.True(closed || await mta.WaitForCloseAsync(TimeSpan.FromSeconds(1)));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(6));
        await server.Logs.WaitForAsync("a frame did not arrive whole within 1s of its first byte");
    }

    [Fact]
    public async Task AConnectionThatNeverNegotiatesIsClosedAtTheNegotiationDeadline()
    {
        await using TestServer server = TestServer.Start(o => o with { NegotiationTimeout = Short }, new Probe().Register());
        await using MilterClient silent = await server.ConnectAsync();

        Assert.True(await silent.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        await server.Logs.WaitForAsync("no option negotiation within 1s of connecting");
    }

    [Fact]
    public async Task OnlyCompleteCommandsRestartTheIdleTimeout()
    {
        // Two seconds, and a command every 400 ms: slack for a loaded test host, yet well past the timeout in all.
        await using TestServer server = TestServer.Start(o => o with { ReadTimeout = TimeSpan.FromSeconds(2), FrameTimeout = TimeSpan.FromSeconds(30) }, new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        // Complete macro frames keep the connection: each one is a command.
        for (int i = 0; i < 8; i++)
        {
            await Task.Delay(400);
            await mta.MacroAsync('M', ("i", "Q" + i));
        }

        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.True(await mta.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        await server.Logs.WaitForAsync("no command from the MTA for 2s");
    }

    private sealed class AddsHeader : FilterDispatcher
    {
        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context)
        {
            editor.AddHeader("X-Before-Deadline", "yes");
            return Verdict.Continue;
        }
    }

    private sealed class StuckClose(Task release) : FilterDispatcher
    {
        public override ValueTask CloseAsync(MilterContext context) => new(release);
    }

    /// <summary>An async filter whose RCPT (for one address) or end of message waits until its token fires.</summary>
    private sealed class Hanging
    {
        public string? HangAtRecipient { get; init; }

        public bool IgnoreToken { get; init; }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken LastToken { get; private set; }

        public MilterRegistration Register(ActionFlags actions = ActionFlags.None)
            => new("hanging", "", "hanging", ProtocolFlags.None, actions, () => new Dispatcher(this));

        private async ValueTask<Verdict> WaitAsync(CancellationToken token)
        {
            LastToken = token;
            Started.TrySetResult();
            if (IgnoreToken)
            {
                using CancellationTokenRegistration seen = token.Register(() => Cancelled.TrySetResult());
                await Release.Task;
                return Verdict.Accept;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }

            return Verdict.Accept;
        }

        private sealed class Dispatcher(Hanging filter) : FilterDispatcher
        {
            public override ValueTask<Verdict> RcptToAsync(EnvelopeAddress recipient, MilterContext context)
            {
                filter.LastToken = context.CallbackAborted;
                return filter.HangAtRecipient is { } local && recipient.Address.ToString().StartsWith(local, StringComparison.Ordinal)
                    ? filter.WaitAsync(context.CallbackAborted)
                    : new ValueTask<Verdict>(Verdict.Continue);
            }

            public override ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context)
            {
                if (filter.HangAtRecipient is not null)
                {
                    return new ValueTask<Verdict>(Verdict.Continue);
                }

                editor.AddHeader("X-Too-Late", "never");
                return filter.WaitAsync(context.CallbackAborted);
            }

            public override void Close(MilterContext context) => filter.Closed.TrySetResult();
        }
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
