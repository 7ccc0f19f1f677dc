using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// <c>aotmilter bench</c> (the load generator shipped in the binary) against the published <c>aotmilter -f bench</c> over
/// a unix socket: every reply is validated by the generator, so a clean run is a protocol test under load as well.
/// </summary>
public sealed class BenchToolTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task EightConnectionsOf2000MessagesEachEndWithoutAnErrorAndEveryMessageGetsXBench10()
    {
        using var dir = new TempDirectory("bench");
        var socket = dir.Combine("milter.sock");
        var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));
        ProcessResult run;
        Dictionary<string, string> result;
        await using (milter)
        {
            run = await BenchAsync(socket, "--connections", "8", "--messages", "16000", "--msgs-per-conn", "2000", "--expect-header", "X-Bench");
            result = Result(run, milter);
            Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
        }

        Assert.Equal("0", result["errors"]);
        Assert.Equal("16000", result["ok"]);
        Assert.Equal("0", result["rejected"]);
        Assert.Equal("16000", result["header_checked"]);

        // A connection that used up its share opens another while the budget lasts: at least 8 in all.
        Assert.True(int.Parse(result["connects"]) >= 8, $"connects={result["connects"]}");

        // The daemon's counters, logged when it stops, agree with the generator's (the harness's readiness probe is
        // one more connection).
        string expected = $"statistics (shutdown): connections={int.Parse(result["connects"]) + 1} open=0 messages=16000 allocated_bytes=";
        Assert.True(milter.Output.Contains(expected, StringComparison.Ordinal), $"'{expected}' not in the daemon's output:\n{milter.Output}");
    }

    /// <summary>
    /// The design promise: no allocation per message. 100,000 messages on persistent connections (1,000 each, as a
    /// busy Postfix smtpd reuses its milter connection across messages) through the published daemon; the daemon's
    /// own counter of managed bytes allocated since it started listening, divided by the messages, stays under 64
    /// bytes — start-up, every connection and every message included.
    /// </summary>
    [Fact]
    public async Task AHundredThousandMessagesAllocateUnder64BytesEachInTheDaemon()
    {
        using var dir = new TempDirectory("alloc");
        var socket = dir.Combine("milter.sock");
        var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));
        ProcessResult run;
        await using (milter)
        {
            run = await BenchAsync(socket, "--connections", "4", "--messages", "100000", "--msgs-per-conn", "1000", "--expect-header", "X-Bench");
            Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
            Assert.Equal("0", Result(run, milter)["errors"]);
        }

        var line = milter.Output.Split('\n').LastOrDefault(l => l.Contains("statistics (shutdown)", StringComparison.Ordinal));
        Assert.True(line is not null, milter.Output);
        var fields = line!.Split(' ').Select(w => w.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        Assert.Equal("100000", fields["messages"]);
        double perMessage = double.Parse(fields["allocated_bytes_per_message"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(perMessage < 64, $"{perMessage} bytes allocated per message (the goal is 0)\n{line}");

        // 101 connections (100 of the generator, one readiness probe), 4 at a time: connection objects are reused.
        // Each of the 4 slots holds at most its open connection and the previous one whose end is still being read,
        // plus the probe.
        long objects = long.Parse(fields["connection_objects"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(objects, 1, (2 * 4) + 1);
    }

    [Fact]
    public async Task RecipientRejectAtExampleComIsRefusedForEveryMessage()
    {
        using var dir = new TempDirectory("bench");
        var socket = dir.Combine("milter.sock");
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));

        var run = await BenchAsync(socket, "--connections", "4", "--messages", "2000", "--rcpt", "reject@example.com", "--expect-reject");

        var result = Result(run, milter);
        Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
        Assert.Equal("0", result["errors"]);
        Assert.Equal("2000", result["rejected"]);
        Assert.Equal("0", result["ok"]);
    }

    [Fact]
    public async Task AReplyTheGeneratorDoesNotExpectIsAnErrorAndTheExitStatusIs1()
    {
        using var dir = new TempDirectory("bench");
        var socket = dir.Combine("milter.sock");
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));

        // The bench filter never adds X-Other: every message fails the check.
        var run = await BenchAsync(socket, "--connections", "2", "--messages", "50", "--expect-header", "X-Other");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("50", Result(run, milter)["errors"]);
        Assert.Contains("message finished without the X-Other header", run.StdErr);
    }

    [Fact]
    public async Task IdleModeHoldsNegotiatedConnectionsOpenUntilTheDurationIsOver()
    {
        using var dir = new TempDirectory("bench");
        var socket = dir.Combine("milter.sock");
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));

        var run = await BenchAsync(socket, "--idle", "200", "--duration", "1");

        var result = Result(run, milter);
        Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
        Assert.Equal("200", result["ready"]);
        Assert.Equal("0", result["errors"]);
    }

    /// <summary>Over TCP a connect completes later (EINPROGRESS, then writable); two generator threads share the load.</summary>
    [Fact]
    public async Task OverTcpWithTwoGeneratorThreadsEveryMessageIsChecked()
    {
        var endpoint = MilterEndpoint.Inet(Ports.GetFree());
        await using var milter = await MilterDaemon.StartAsync("bench", endpoint);

        var run = await RunBenchAsync(endpoint.ForAotMilter, "--threads", "2", "--connections", "8", "--messages", "4000", "--msgs-per-conn", "10", "--expect-header", "X-Bench");

        var result = Result(run, milter);
        Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
        Assert.Equal("0", result["errors"]);
        Assert.Equal("4000", result["ok"]);
        Assert.Equal("4000", result["header_checked"]);
        Assert.True(int.Parse(result["connects"]) >= 400, $"connects={result["connects"]}");
    }

    /// <summary>
    /// The log filter takes the body without replies, so a message's body chunks go out in one write of a megabyte:
    /// more than a unix socket buffer holds, so the generator must wait for the socket to become writable again.
    /// </summary>
    [Fact]
    public async Task BodiesLargerThanTheSocketBufferAreSentWhole()
    {
        using var dir = new TempDirectory("bench");
        var socket = dir.Combine("milter.sock");
        await using var milter = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(socket), "--log-level", "Warning");

        var run = await BenchAsync(socket, "--connections", "4", "--messages", "100", "--size", "1000000");

        var result = Result(run, milter);
        Assert.True(run.Succeeded, $"{run}\n{milter.Describe()}");
        Assert.Equal("0", result["errors"]);
        Assert.Equal("100", result["ok"]);
        Assert.Matches("no reply awaited: [^)]*body", run.StdOut);
    }

    [Fact]
    public async Task AMilterThatIsNotThereIsAnErrorPerAttemptAndTheExitStatusIs1()
    {
        int port = Ports.GetFree();

        var run = await RunBenchAsync($"inet:{port}@127.0.0.1", "--messages", "5", "--max-errors", "5");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"connect inet:{port}@127.0.0.1: errno 111 (Connection refused)", run.StdErr);
        Assert.Contains("errors=5 ", run.StdOut);
    }

    private static Task<ProcessResult> BenchAsync(string socket, params string[] arguments) =>
        ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", $"unix:{socket}", .. arguments], RunTimeout);

    private static Task<ProcessResult> RunBenchAsync(string socketSpec, params string[] arguments) =>
        ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", socketSpec, .. arguments], RunTimeout);

    /// <summary>The key=value pairs of the RESULT line.</summary>
    private static Dictionary<string, string> Result(ProcessResult run, MilterDaemon milter)
    {
        var line = run.StdOut.Split('\n').SingleOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no RESULT line: {run}\n{milter.Describe()}");
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
    }
}
