using System.Diagnostics;
using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Xunit.Abstractions;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// MIME bombs against the published daemon with one event loop (<c>--io-threads 1</c>): while one connection's end
/// of message is being worked on, another connection of the same loop keeps getting its replies in time, and the
/// daemon's peak memory (VmHWM) grows by a bounded multiple of the message.
/// </summary>
[Collection(LatencyCollection.Name)]
public sealed class MimeBombTests(ITestOutputHelper output)
{
    /// <summary>How much longer than usual another connection may wait for a reply while a message is worked on.</summary>
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long the event loop may run for one message's end of message: CPU time of the loop's thread, which a busy
    /// machine does not stretch the way it stretches another connection's wall-clock wait.
    /// </summary>
    private static readonly TimeSpan MaxLoopTime = TimeSpan.FromMilliseconds(100);

    /// <summary>What the runtime, the connections' buffers and the collector's bookkeeping may add to a peak.</summary>
    private const long Slack = 8 << 20;

    /// <summary>The daemon's only event loop with --io-threads 1 (its thread's name).</summary>
    private const string LoopThread = "aotmilter-io-0";

    private const string Config = """
        [rules]
        body = "not-in-any-test-message" add-header X-Rules hit

        [disclaimer]
        senders = example.net
        text = "--\nConfidential (bomb test)."
        """;

    private static readonly List<KeyValuePair<string, string>> Mixed = [new("Subject", "parts"), new("Content-Type", "multipart/mixed; boundary=\"b\"")];

    [Fact]
    public async Task RulesOnAMegabyteOfEmptyPartsDoesNotHoldUpAnotherConnection()
    {
        using var dir = new TempDirectory("bomb-rules");
        await using MilterDaemon daemon = await StartAsync(dir, "rules");

        Measurement m = await MeasureAsync(daemon, Mixed, Repeat("--b\r\n", 1 << 20), HeaderProbe, probeAfterHeaders: false);

        Report("rules, 1 MiB of --b lines", m);
        Assert.Equal(MilterReply.Continue, m.Result.Reply);
        Assert.True(m.WorstProbe < MaxDelay, $"another connection waited {m.WorstProbe.TotalMilliseconds:0} ms for a reply while the bomb was worked on");
        Assert.True(m.LoopCpu < MaxLoopTime, $"the event loop ran {m.LoopCpu.TotalMilliseconds:0} ms for the bomb");
        await WaitForLogAsync(daemon, "rules, BOMB1: more than 500 MIME parts (max-mime-parts)");
    }

    [Fact]
    public async Task DisclaimerOnTenMegabytesOfEmptyPartsDoesNotHoldUpAnotherConnectionAndItsMemoryIsBounded()
    {
        using var dir = new TempDirectory("bomb-disc");
        await using MilterDaemon daemon = await StartAsync(dir, "disclaimer");

        Measurement m = await MeasureAsync(daemon, Mixed, Repeat("--b\r\n", 10 << 20), BodyProbe, probeAfterHeaders: true);

        Report("disclaimer, 10 MiB of --b lines", m);
        Assert.Empty(m.Result.Modifications);
        Assert.True(m.WorstProbe < MaxDelay, $"another connection waited {m.WorstProbe.TotalMilliseconds:0} ms for a reply while the bomb was worked on");
        Assert.True(m.LoopCpu < MaxLoopTime, $"the event loop ran {m.LoopCpu.TotalMilliseconds:0} ms for the bomb");
        await WaitForLogAsync(daemon, "no disclaimer for BOMB1: more than 500 MIME parts (max-mime-parts)");

        // Collected, parsed as far as the limit, passed: the body buffer is all it costs (the old parser's 2 million
        // part objects took 355 MiB).
        Assert.True(m.PeakGrowth <= Collected(10 << 20) + Slack, $"the peak resident memory grew by {m.PeakGrowth >> 20} MiB for a 10 MiB message");
    }

    [Fact]
    public async Task DisclaimerOnATenMegabyteTextDoesNotHoldUpAnotherConnectionAndItsMemoryIsBounded()
    {
        using var dir = new TempDirectory("bomb-text");
        await using MilterDaemon daemon = await StartAsync(dir, "disclaimer");
        byte[] text = Repeat("A line of plain text, as long as most lines of mail are.\r\n", 10 << 20);

        Measurement m = await MeasureAsync(daemon, [new("Subject", "long"), new("Content-Type", "text/plain; charset=us-ascii")], text, BodyProbe, probeAfterHeaders: true);

        Report("disclaimer, 10 MiB text/plain (rewritten)", m);
        byte[] replaced = m.Result.Modifications.OfType<Modification.ReplaceBody>().SelectMany(r => r.Chunk).ToArray();
        Assert.True(replaced.AsSpan().StartsWith(text) && Encoding.ASCII.GetString(replaced.AsSpan(text.Length)).Contains("Confidential (bomb test).", StringComparison.Ordinal), "the body came back with the disclaimer");

        // The rewrite runs on the thread pool; what is left on the loop is copying the new body into reply frames
        // and sending them. Its CPU time is asserted, not the other connection's wait: on a machine shared with other
        // work, a few tens of milliseconds of loop CPU become hundreds of milliseconds of waiting for a CPU.
        Assert.True(m.LoopCpu < MaxLoopTime, $"the event loop ran {m.LoopCpu.TotalMilliseconds:0} ms for the message");
        Assert.True(m.PeakGrowth <= Collected(10 << 20) + Rewritten(10 << 20) + Slack, $"the peak resident memory grew by {m.PeakGrowth >> 20} MiB for a 10 MiB message");
    }

    /// <summary>
    /// The body buffer for a body of S bytes: one pooled array of P bytes (P the power of two at or above S) and
    /// the smaller ones it grew through, 2P in all.
    /// </summary>
    private static long Collected(int body) => 2 * (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)body);

    /// <summary>
    /// A 7bit text rewritten: the replacement in the editor (its first piece, S bytes, then an array of 2S beside it
    /// when the disclaimer is appended) and the reply frames in the connection's output (S): 4S.
    /// </summary>
    private static long Rewritten(int body) => 4L * body;

    /// <summary>The daemon logs through a background writer: its line may come a moment after the reply.</summary>
    private static async Task WaitForLogAsync(MilterDaemon daemon, string text)
    {
        for (int i = 0; i < 100 && !daemon.Output.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(daemon.Output.Contains(text, StringComparison.Ordinal), $"'{text}' not in the daemon's log:\n{daemon.Describe()}");
    }

    private static Task<MilterDaemon> StartAsync(TempDirectory dir, string filter)
    {
        string config = dir.Combine("aotmilter.conf");
        File.WriteAllText(config, Config);
        return MilterDaemon.StartAsync(filter, MilterEndpoint.Unix(dir.Combine("m.sock")), "-c", config, "--io-threads", "1");
    }

    // Rules answers every header; the disclaimer answers every body chunk of a message it disclaims.
    private static Task<MilterReply> HeaderProbe(MilterClient mta) => mta.HeaderAsync("X-Probe", "1");

    private static Task<MilterReply> BodyProbe(MilterClient mta) => mta.BodyAsync("probe\r\n");

    /// <summary>
    /// Sends the message on one connection and, from just before its end of message until its reply, round trips on
    /// a second connection of the same event loop; the worst of those, less the usual (median) one before, is how
    /// long the loop was held.
    /// </summary>
    private static async Task<Measurement> MeasureAsync(MilterDaemon daemon, List<KeyValuePair<string, string>> headers, byte[] body, Func<MilterClient, Task<MilterReply>> probe, bool probeAfterHeaders)
    {
        await using MilterClient prober = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
        await prober.NegotiateAsync();
        await StartMessageAsync(prober, headers, probeAfterHeaders);
        var usual = new List<TimeSpan>();
        TimeSpan probesStart = ProcFs.ThreadCpu(daemon.ProcessId, LoopThread);
        for (int i = 0; i < 21; i++)
        {
            usual.Add(await TimeAsync(probe, prober));
        }

        // What one round trip costs the loop, so that the round trips made meanwhile are not counted as the message's.
        TimeSpan perProbe = (ProcFs.ThreadCpu(daemon.ProcessId, LoopThread) - probesStart) / usual.Count;
        TimeSpan before = usual.Order().ElementAt(usual.Count / 2);

        long peakBefore = ProcFs.PeakResident(daemon.ProcessId);
        await using MilterClient bomb = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
        await bomb.NegotiateAsync();
        await StartMessageAsync(bomb, headers, endHeaders: true);
        MilterReply sent = await bomb.BodyAsync(body);
        Assert.Equal(MilterReplyKind.Continue, sent.Kind);
        await bomb.MacroAsync('E', ("i", "BOMB1"));

        TimeSpan loopBefore = ProcFs.ThreadCpu(daemon.ProcessId, LoopThread);
        var clock = Stopwatch.StartNew();
        Task<EndOfMessageResult> end = bomb.EndOfMessageAsync();
        TimeSpan worst = TimeSpan.Zero;
        int probes = 0;
        while (!end.IsCompleted || probes < 3)
        {
            worst = Max(worst, await TimeAsync(probe, prober));
            probes++;
        }

        EndOfMessageResult result = await end;
        TimeSpan took = clock.Elapsed;
        TimeSpan loop = ProcFs.ThreadCpu(daemon.ProcessId, LoopThread) - loopBefore - (perProbe * probes);
        long peakAfter = ProcFs.PeakResident(daemon.ProcessId);
        return new Measurement(result, before, worst - before, probes, took, loop, peakBefore, peakAfter);
    }

    private static async Task StartMessageAsync(MilterClient mta, List<KeyValuePair<string, string>> headers, bool endHeaders)
    {
        await mta.MailFromAsync("<sender@example.net>");
        if ((mta.Negotiated!.DeclinedEvents & ProtocolFlags.NoRcpt) == 0)
        {
            await mta.RcptToAsync("<rcpt@example.org>");
        }

        foreach ((string name, string value) in headers)
        {
            await mta.HeaderAsync(name, value);
        }

        if (endHeaders && (mta.Negotiated.DeclinedEvents & ProtocolFlags.NoEndOfHeaders) == 0)
        {
            await mta.EndOfHeadersAsync();
        }
    }

    private static async Task<TimeSpan> TimeAsync(Func<MilterClient, Task<MilterReply>> probe, MilterClient mta)
    {
        long start = Stopwatch.GetTimestamp();
        MilterReply reply = await probe(mta);
        TimeSpan took = Stopwatch.GetElapsedTime(start);
        Assert.Equal(MilterReplyKind.Continue, reply.Kind);
        return took;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static byte[] Repeat(string text, int size)
    {
        var builder = new StringBuilder(size + text.Length);
        while (builder.Length < size)
        {
            builder.Append(text);
        }

        return Encoding.ASCII.GetBytes(builder.ToString(0, size));
    }

    private void Report(string what, Measurement m) => output.WriteLine(
        $"{what}: end of message {m.EndOfMessage.TotalMilliseconds:0} ms, of which the event loop ran {m.LoopCpu.TotalMilliseconds:0.0} ms (its round trips for the other connection aside); another connection's round trip: worst {m.WorstProbe.TotalMilliseconds:0.0} ms above its usual {m.UsualProbe.TotalMilliseconds:0.0} ms ({m.Probes} round trips meanwhile); peak RSS {m.PeakBefore >> 20} -> {m.PeakAfter >> 20} MiB (+{m.PeakGrowth >> 20} MiB)");

    private sealed record Measurement(EndOfMessageResult Result, TimeSpan UsualProbe, TimeSpan WorstProbe, int Probes, TimeSpan EndOfMessage, TimeSpan LoopCpu, long PeakBefore, long PeakAfter)
    {
        public long PeakGrowth => PeakAfter - PeakBefore;
    }
}
