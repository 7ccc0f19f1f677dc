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
        // plus the probe; and the pool makes its spares ahead of the highest number open at once.
        long objects = long.Parse(fields["connection_objects"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(objects, 1, (2 * 4) + 1 + 4);
    }

    /// <summary>
    /// An MTA sends the queue id (macro i) at MAIL and again at end of message; the generator's must be the message's own
    /// both times, or a filter that reads it at end of message (and the daemon's connection line) sees another.
    /// </summary>
    [Fact]
    public async Task EachMessageCarriesItsOwnQueueIdAtMailAndAtEndOfMessage()
    {
        using var dir = new TempDirectory("bench-qid");
        var socket = dir.Combine("milter.sock");
        var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));
        await using (milter)
        {
            ProcessResult run = await BenchAsync(socket, "--connections", "1", "--messages", "3", "--msgs-per-conn", "3");
            AssertResult(run, milter, 0, ("errors", "0"), ("ok", "3"));
        }

        // The connection line names the queue id the last message ended with: the third message's.
        Assert.Matches(@"messages=3 queue_id=0000000003 verdict=accept", milter.Output);
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

    /// <summary>
    /// Message files instead of the generated message: the rules filter refuses, defers or discards by content, and
    /// every file's verdict is the one given after its name, so nothing is counted as an error.
    /// </summary>
    [Fact]
    public async Task MessageFilesGoInTurnAndEachGetsTheVerdictItsNameExpects()
    {
        using var dir = new TempDirectory("bench-files");
        string[] files = WriteRuleMessages(dir);
        await using MilterDaemon milter = await StartRulesAsync(dir);

        var run = await BenchAsync(dir.Combine("milter.sock"), "--connections", "4", "--messages", "400", "--msgs-per-conn", "5",
            "--message", files[0], "--message", $"{files[1]}:reject", "--message", $"{files[2]}:tempfail", "--message", $"{files[3]}:discard");

        AssertResult(run, milter, 0, ("errors", "0"), ("mismatched", "0"), ("files", "4"), ("messages", "400"),
            ("ok", "100"), ("rejected", "100"), ("tempfailed", "100"), ("discarded", "100"));
    }

    [Fact]
    public async Task AVerdictOtherThanTheExpectedOneIsAnErrorNamingTheFileAndTheReply()
    {
        using var dir = new TempDirectory("bench-files");
        string[] files = WriteRuleMessages(dir);
        await using MilterDaemon milter = await StartRulesAsync(dir);

        // A directory is every file in it, each expected to be accepted: the one with the rejected word is not.
        string mixed = dir.CreateSubdirectory("mixed");
        File.Copy(files[0], Path.Combine(mixed, "a-clean.eml"));
        File.Copy(files[1], Path.Combine(mixed, "b-refused.eml"));
        var run = await BenchAsync(dir.Combine("milter.sock"), "--connections", "2", "--messages", "60", "--message", mixed);

        AssertResult(run, milter, 1, ("files", "2"), ("messages", "60"), ("ok", "30"), ("rejected", "30"), ("mismatched", "30"), ("errors", "30"));
        Assert.Contains($"b-refused.eml: expected accept, got reply code \"550 5.7.1 Refused by the test\" at eom", run.StdErr);
    }

    /// <summary>
    /// A file is split into header fields as an MTA splits it: folded fields are one field, an mbox "From " line is not
    /// a field. The bench filter's X-Bench counts the fields it was given; the generator checks it against its own count.
    /// </summary>
    [Fact]
    public async Task AMessageFileIsSplitIntoItsHeaderFieldsAndBodyAsAnMtaSplitsIt()
    {
        using var dir = new TempDirectory("bench-files");
        string file = dir.Combine("folded.eml");
        File.WriteAllText(file, "From sender@example.org Mon Jan  1 00:00:00 2024\n"
            + "Received: from a.example.org\n\tby b.example.org;\n\tMon, 1 Jan 2024 00:00:00 +0000\n"
            + "From: Sender <sender@example.org>\nTo: Recipient <user@example.com>,\n  Other <other@example.com>\n"
            + "Subject: folded\nMessage-ID: <folded@example.org>\n\nbody line\n\nFrom: not a header\n");
        var socket = dir.Combine("milter.sock");
        await using MilterDaemon milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket));

        var run = await BenchAsync(socket, "--connections", "2", "--messages", "20", "--message", file, "--expect-header", "X-Bench");

        // Five header fields; the body is "body line", an empty line and "From: not a header", each with CRLF.
        AssertResult(run, milter, 0, ("headers", "5"), ("size", "33"), ("header_checked", "20"), ("errors", "0"));
    }

    /// <summary>
    /// A milter that negotiated header values with their leading space gets them so, as from Postfix and Sendmail:
    /// generated headers and a file's fields alike (the test filter rejects a message in which one lacks it).
    /// </summary>
    [Fact]
    public async Task AMilterThatAskedForTheLeadingSpaceGetsEveryHeaderValueWithIt()
    {
        using var dir = new TempDirectory("bench-leadspace");
        string file = dir.Combine("spaced.eml");
        File.WriteAllText(file, "From: Sender <sender@example.org>\nSubject:  two spaces\nTo: Recipient\n <user@example.com>\n\nbody\n");
        var socket = dir.Combine("milter.sock");
        await using MilterDaemon milter = await MilterDaemon.StartTestBuildAsync("test-raw-headers", MilterEndpoint.Unix(socket));

        var generated = await BenchAsync(socket, "--connections", "2", "--messages", "20");
        AssertResult(generated, milter, 0, ("errors", "0"), ("ok", "20"));
        var fromFile = await BenchAsync(socket, "--connections", "2", "--messages", "20", "--message", file);
        AssertResult(fromFile, milter, 0, ("errors", "0"), ("ok", "20"));
    }

    [Fact]
    public async Task AMissingMessageFileOrAGeneratedMessageOptionBesideFilesIsRefusedBeforeAnythingIsSent()
    {
        using var dir = new TempDirectory("bench-files");
        string file = dir.Combine("one.eml");
        File.WriteAllText(file, "Subject: one\n\nbody\n");

        var missing = await BenchAsync(dir.Combine("milter.sock"), "--message", dir.Combine("absent.eml:reject"));
        var both = await BenchAsync(dir.Combine("milter.sock"), "--message", file, "--size", "100");

        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("absent.eml:reject: no such file or directory", missing.StdErr);
        Assert.NotEqual(0, both.ExitCode);
        Assert.Contains("--message sends files instead", both.StdErr);
    }

    /// <summary>Four messages the rules filter treats differently: passed, refused, deferred, discarded.</summary>
    private static string[] WriteRuleMessages(TempDirectory dir)
    {
        string[] bodies = ["nothing to see here", "please refuse-me now", "please defer-me now", "please drop-me now"];
        return [.. bodies.Select((body, i) =>
        {
            string path = dir.Combine($"m{i}.eml");
            File.WriteAllText(path, $"From: a@example.org\r\nTo: b@example.com\r\nSubject: rules {i}\r\n\r\n{body}\r\n");
            return path;
        })];
    }

    private static Task<MilterDaemon> StartRulesAsync(TempDirectory dir)
    {
        string config = dir.Combine("aotmilter.conf");
        File.WriteAllText(config, """
            [rules]
            body = refuse-me reject "550 5.7.1 Refused by the test"
            body = defer-me tempfail "451 4.7.1 Deferred by the test"
            body = drop-me discard
            """);
        return MilterDaemon.StartAsync("rules", MilterEndpoint.Unix(dir.Combine("milter.sock")), "-c", config, "--log-level", "Warning");
    }

    private static Task<ProcessResult> BenchAsync(string socket, params string[] arguments) =>
        ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", $"unix:{socket}", .. arguments], RunTimeout);

    private static Task<ProcessResult> RunBenchAsync(string socketSpec, params string[] arguments) =>
        ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", socketSpec, .. arguments], RunTimeout);

    /// <summary>The run ended with <paramref name="exitCode"/> and its RESULT line has these values.</summary>
    private static void AssertResult(ProcessResult run, MilterDaemon milter, int exitCode, params (string Key, string Value)[] expected)
    {
        Assert.True(run.ExitCode == exitCode, $"exit status {run.ExitCode}, expected {exitCode}: {run}\n{milter.Describe()}");
        Dictionary<string, string> result = Result(run, milter);
        Assert.Equal(expected.Select(e => $"{e.Key}={e.Value}"), expected.Select(e => $"{e.Key}={result.GetValueOrDefault(e.Key)}"));
    }

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
