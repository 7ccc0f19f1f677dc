using System.Buffers.Binary;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>
/// A callback that completes later leaves its frame at the step it reached; the session goes on from there, with the
/// frame's arguments as they were, whatever the command and whichever step (a chain's next filter, the abort before a
/// new MAIL, the close before a second negotiation or at QUIT, the body chunk an end of message carries).
/// </summary>
public class ContinuationTests
{
    [Fact]
    public async Task EveryStepOfEveryCommandGoesOnAfterAnAwaitedCallbackWithTheFramesArguments()
    {
        var first = new List<string>();
        var second = new List<string>();
        await using TestServer server = TestServer.Start(
            Register("first", () => new AwaitingEverywhere(first)),
            Register("second", () => new Recording(second)));
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("[2001:db8::5]", ConnectFamily.IPv6, 25, "IPv6:2001:db8::5"));
            Assert.Equal(MilterReply.Continue, await mta.HeloAsync("client.example.org"));
            Assert.Equal(MilterReply.Continue, await mta.UnknownAsync("XYZZY plugh"));
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>", "SIZE=12", "BODY=8BITMIME"));
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.net>", "NOTIFY=NEVER"));
            Assert.Equal(MilterReply.Continue, await mta.DataAsync());
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "hi"));
            Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
            Assert.Equal(MilterReply.Continue, await mta.BodyAsync("abc"));
            Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync("tail"u8.ToArray())).Reply);

            // A message left unfinished: the next MAIL first aborts it (awaited), then starts its own.
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<c@example.org>"));
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<d@example.net>"));
            Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<e@example.org>"));
            await mta.AbortAsync();

            // A second negotiation (Sendmail's way to reuse a milter connection; the kit's client never sends one)
            // closes the first SMTP connection's filters (awaited) before its reply.
            byte[] offer = new byte[12];
            BinaryPrimitives.WriteUInt32BigEndian(offer, 6);
            BinaryPrimitives.WriteUInt32BigEndian(offer.AsSpan(4), (uint)ActionFlags.AllVersion6);
            BinaryPrimitives.WriteUInt32BigEndian(offer.AsSpan(8), (uint)ProtocolFlags.AllVersion6);
            await mta.SendFrameAsync((byte)MilterCommand.OptionNegotiation, offer);
            RawFrame? again = await mta.ReadFrameAsync();
            Assert.Equal((byte)MilterCommand.OptionNegotiation, again?.Command);
            Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("mx.example.com", ConnectFamily.IPv4, 4242, "198.51.100.7"));

            // QUIT_NC closes (awaited) and keeps the milter connection for the next SMTP connection.
            await mta.QuitNewConnectionAsync();
            Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("[192.0.2.1]", ConnectFamily.IPv4, 25, "192.0.2.1"));
            await mta.QuitAsync();
            Assert.True(await mta.WaitForCloseAsync(), "the daemon did not close the connection after QUIT");
        }

        await server.WaitForNoConnectionsAsync();
        string[] chain =
        [
            "connect [2001:db8::5] IPv6 25 2001:db8::5",
            "helo client.example.org",
            "unknown XYZZY plugh",
            "mailfrom <a@example.org> SIZE=12 BODY=8BITMIME",
            "rcptto <b@example.net> NOTIFY=NEVER",
            "data",
        ];
        Assert.Equal(
        [
            .. chain,
            "header Subject: hi", "eoh", "body abc", "body tail", "eom",
            .. Later,
        ], Snapshot(first));

        // The second filter is asked after the first's awaited callbacks, and shown the content at end of message.
        Assert.Equal(
        [
            .. chain,
            "header Subject: hi", "eoh", "body abctail", "eom",
            .. Later,
        ], Snapshot(second));
    }

    [Fact]
    public async Task AnAwaitedVerdictOnTheBodyChunkOfEndOfMessageDecidesTheMessageWithoutEndOfMessageCallbacks()
    {
        var seen = new List<string>();
        await using TestServer server = TestServer.Start(Register("scan", () => new AwaitingEverywhere(seen, rejectBody: "EICAR"u8.ToArray())));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await Transcript.RunUntilAsync(mta, MilterEvent.EndOfHeaders);
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync("clean "));
        EndOfMessageResult end = await mta.EndOfMessageAsync("EICAR"u8.ToArray());

        Assert.Equal(MilterReplyKind.Reject, end.Reply.Kind);
        Assert.Empty(end.Modifications);
        Assert.Contains("body EICAR", Snapshot(seen));
        Assert.DoesNotContain("eom", Snapshot(seen));

        // The session is at rest again: the next message runs as usual.
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<next@example.org>"));
    }

    [Fact]
    public async Task CommandsSentWhileACallbackRunsWaitInTheSocketWithoutKeepingTheLoopBusy()
    {
        var filter = new GatedMailFrom();
        await using TestServer server = TestServer.Start(Register("gated", () => filter));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("client.example.org"));

        // MAIL and, without waiting for its answer, RCPT: the second waits in the socket while the first's callback
        // runs, and the loop thread must sleep meanwhile instead of being told again and again that it can read.
        await mta.SendFrameAsync((byte)MilterCommand.Mail, "<a@example.org>\0"u8.ToArray());
        await mta.SendFrameAsync((byte)MilterCommand.Rcpt, "<b@example.net>\0"u8.ToArray());
        int loopThread = await filter.Started.Task.WaitAsync(MilterClient.DefaultTimeout);
        await Task.Delay(100);
        long before = ThreadCpuMilliseconds(loopThread);
        await Task.Delay(500);
        long spent = ThreadCpuMilliseconds(loopThread) - before;
        Assert.True(spent < 100, $"the loop thread used {spent} ms of CPU in 500 ms of waiting");

        filter.Gate.SetResult();
        Assert.Equal('c', (await mta.ReadFrameAsync())!.Letter);
        Assert.Equal('c', (await mta.ReadFrameAsync())!.Letter);
        Assert.Equal(["mailfrom <a@example.org>", "rcptto <b@example.net>"], Snapshot(filter.Seen));

        // The next callback waits the same way; this time the MTA hangs up behind its pipelined command, and the
        // callback is cancelled at once rather than at its deadline.
        var second = new GatedMailFrom();
        await using TestServer other = TestServer.Start(Register("gated", () => second));
        MilterClient leaving = await other.ConnectAndNegotiateAsync();
        await leaving.SendFrameAsync((byte)MilterCommand.Mail, "<a@example.org>\0"u8.ToArray());
        await second.Started.Task.WaitAsync(MilterClient.DefaultTimeout);
        await leaving.SendFrameAsync((byte)MilterCommand.Rcpt, "<b@example.net>\0"u8.ToArray());
        await Task.Delay(100);
        await leaving.DisposeAsync();
        await second.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await other.Logs.WaitForAsync("hung up while callback of gated in MailFrom ran");
    }

    private static readonly string[] Later =
    [
        "mailfrom <c@example.org>",
        "rcptto <d@example.net>",
        "abort",
        "mailfrom <e@example.org>",
        "abort",
        "close",
        "connect mx.example.com IPv4 4242 198.51.100.7",
        "close",
        "connect [192.0.2.1] IPv4 25 192.0.2.1",
        "close",
    ];

    private static string[] Snapshot(List<string> seen)
    {
        lock (seen)
        {
            return [.. seen];
        }
    }

    private static MilterRegistration Register(string name, Func<FilterDispatcher> create)
        => new(name, "", name, ProtocolFlags.None, ActionFlags.None, create);

    private static void Add(List<string> seen, string line)
    {
        lock (seen)
        {
            seen.Add(line);
        }
    }

    private static string Describe(ConnectInfo info) => $"connect {info.HostNameString()} {info.Family} {info.Port} {info.Address.ToString()}";

    private static string Describe(string what, EnvelopeAddress address)
    {
        var line = new StringBuilder(what).Append(' ').Append(Encoding.ASCII.GetString(address.Raw));
        foreach (ReadOnlySpan<byte> argument in address.Arguments)
        {
            line.Append(' ').Append(Encoding.ASCII.GetString(argument));
        }

        return line.ToString();
    }

    /// <summary>Notes each call as it starts, then completes it later, on another thread.</summary>
    private sealed class AwaitingEverywhere(List<string> seen, byte[]? rejectBody = null) : FilterDispatcher
    {
        public override ValueTask<Verdict> ConnectAsync(ConnectInfo info, MilterContext context) => Later(Describe(info));

        public override ValueTask<Verdict> HeloAsync(ReadOnlySpan<byte> name, MilterContext context) => Later("helo " + Encoding.ASCII.GetString(name));

        public override ValueTask<Verdict> UnknownAsync(ReadOnlySpan<byte> command, MilterContext context) => Later("unknown " + Encoding.ASCII.GetString(command));

        public override ValueTask<Verdict> MailFromAsync(EnvelopeAddress sender, MilterContext context) => Later(Describe("mailfrom", sender));

        public override ValueTask<Verdict> RcptToAsync(EnvelopeAddress recipient, MilterContext context) => Later(Describe("rcptto", recipient));

        public override ValueTask<Verdict> DataAsync(MilterContext context) => Later("data");

        public override ValueTask<Verdict> HeaderAsync(HeaderField header, MilterContext context) => Later($"header {header.NameString()}: {header.ValueString()}");

        public override ValueTask<Verdict> EndOfHeadersAsync(MilterContext context) => Later("eoh");

        public override ValueTask<Verdict> BodyAsync(ReadOnlySpan<byte> chunk, MilterContext context)
            => Later("body " + Encoding.ASCII.GetString(chunk), rejectBody is not null && chunk.SequenceEqual(rejectBody) ? Verdict.Reject : Verdict.Continue);

        public override ValueTask<Verdict> EndOfMessageAsync(MessageEditor editor, MilterContext context) => Later("eom");

        public override async ValueTask AbortAsync(MilterContext context) => await Later("abort");

        public override async ValueTask CloseAsync(MilterContext context) => await Later("close");

        private async ValueTask<Verdict> Later(string line, Verdict verdict = default)
        {
            Add(seen, line);
            await Task.Delay(5);
            return verdict;
        }
    }

    private sealed class Recording(List<string> seen) : FilterDispatcher
    {
        public override Verdict Connect(ConnectInfo info, MilterContext context) => Note(Describe(info));

        public override Verdict Helo(ReadOnlySpan<byte> name, MilterContext context) => Note("helo " + Encoding.ASCII.GetString(name));

        public override Verdict Unknown(ReadOnlySpan<byte> command, MilterContext context) => Note("unknown " + Encoding.ASCII.GetString(command));

        public override Verdict MailFrom(EnvelopeAddress sender, MilterContext context) => Note(Describe("mailfrom", sender));

        public override Verdict RcptTo(EnvelopeAddress recipient, MilterContext context) => Note(Describe("rcptto", recipient));

        public override Verdict Data(MilterContext context) => Note("data");

        public override Verdict Header(HeaderField header, MilterContext context) => Note($"header {header.NameString()}: {header.ValueString()}");

        public override Verdict EndOfHeaders(MilterContext context) => Note("eoh");

        public override Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context) => Note("body " + Encoding.ASCII.GetString(chunk));

        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context) => Note("eom");

        public override void Abort(MilterContext context) => Note("abort");

        public override void Close(MilterContext context) => Note("close");

        private Verdict Note(string line)
        {
            Add(seen, line);
            return Verdict.Continue;
        }
    }

    /// <summary>A MAIL callback that waits for the test's word (or its token); notes the loop thread it started on.</summary>
    private sealed class GatedMailFrom : FilterDispatcher
    {
        public TaskCompletionSource<int> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<string> Seen { get; } = [];

        public override ValueTask<Verdict> MailFromAsync(EnvelopeAddress sender, MilterContext context)
        {
            Add(Seen, Describe("mailfrom", sender));
            Started.TrySetResult(gettid());
            return Wait(context.CallbackAborted);
        }

        private async ValueTask<Verdict> Wait(CancellationToken aborted)
        {
            try
            {
                await Gate.Task.WaitAsync(aborted);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }

            return Verdict.Continue;
        }

        public override Verdict RcptTo(EnvelopeAddress recipient, MilterContext context)
        {
            Add(Seen, Describe("rcptto", recipient));
            return Verdict.Continue;
        }
    }

    /// <summary>User and system CPU time of one thread of this process, from /proc.</summary>
    private static long ThreadCpuMilliseconds(int tid)
    {
        string stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return ticks * 1000 / 100;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int gettid();
}
