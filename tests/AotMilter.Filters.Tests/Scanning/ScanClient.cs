using System.Diagnostics;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Scanning;

internal static class ScanClient
{
    /// <summary>The <c>on-error</c> verdict by default, as the test MTA prints it.</summary>
    public const string OnErrorTempfail = "replycode \"451 4.3.0 Message could not be scanned, try again later\"";

    /// <summary>One whole message (a file's bytes) from a@example.net to b@example.org, with queue id <paramref name="queueId"/> at end of message.</summary>
    public static async Task<EndOfMessageResult> SendAsync(this MilterClient mta, byte[] message, string queueId = "Q1")
    {
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.Split(message);
        EndOfMessageResult? result = await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, queueId);
        return Assert.IsType<EndOfMessageResult>(result);
    }

    /// <summary>
    /// Two messages through the <paramref name="filter"/> filter whose scanner is <paramref name="bad"/> (more
    /// <paramref name="settings"/> lines after its address): each gets <paramref name="reply"/> (the <c>on-error</c>
    /// verdict), each on a connection of its own (one the scanner answered wrongly is never reused), and the log says
    /// <paramref name="logged"/> on the line of the <c>on-error</c> verdict (accept when the reply is continue, else tempfail).
    /// </summary>
    public static async Task EachOfTwoMessagesGetsTheOnErrorVerdictAsync(this MisbehavingScanner bad, string filter, string settings, byte[] message, string reply, string logged)
    {
        ArgumentNullException.ThrowIfNull(bad);
        await using FilterHost host = FilterHost.Start($"[{filter}]\naddress = {bad.Address}\n{settings}", filter);
        await using MilterClient mta = await host.ConnectAsync();
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(reply, (await mta.SendAsync(message)).Reply.ToString());
        }

        Assert.Equal(2, bad.Connections);
        string fallback = reply == "continue" ? "; accept (on-error)" : "; tempfail (on-error)";
        Assert.Contains(host.Logs.Lines, l => l.Contains(logged, StringComparison.Ordinal) && l.Contains(fallback, StringComparison.Ordinal));
    }

    /// <summary>
    /// A scanner stopped (SIGSTOP) for one message and then resumed, behind a filter with <c>timeout = 1s</c>: the
    /// message gets the <c>on-error</c> tempfail in time, logged as <c>"{scanner} gave no answer within 1 s"</c>, and
    /// once the scanner goes on, the same message is scanned and refused (<paramref name="message"/> is EICAR or GTUBE).
    /// </summary>
    public static async Task StalledThenScannedAsync(this FilterHost host, string scanner, Action pause, Action resume, byte[] message)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(pause);
        ArgumentNullException.ThrowIfNull(resume);
        await using MilterClient mta = await host.ConnectAsync();
        string deadline = $"{scanner} gave no answer within 1 s";
        pause();
        EndOfMessageResult stuck;
        var clock = Stopwatch.StartNew();
        try
        {
            stuck = await mta.SendAsync(message);
        }
        finally
        {
            resume();
        }

        Assert.Equal(OnErrorTempfail, stuck.Reply.ToString());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Contains(host.Logs.Lines, l => l.Contains($"{deadline}; tempfail (on-error)", StringComparison.Ordinal));
        mta.Timeout = TimeSpan.FromSeconds(30);
        EndOfMessageResult next = await mta.SendUntilScannedAsync(message, host.Logs, deadline);
        Assert.True(next.Reply.IsRejection, next.Reply.ToString());
    }

    /// <summary>
    /// Sends <paramref name="message"/> until the scanner's verdict comes back (at most <paramref name="tries"/> times)
    /// and returns that result. Right after a scanner was stopped and resumed, a short deadline can still pass on a
    /// loaded host while the daemon works off what queued up meanwhile; what must hold is that the filter is not wedged.
    /// So every miss before the verdict must be a tempfail that logged <paramref name="deadlineLine"/>, nothing else.
    /// </summary>
    public static async Task<EndOfMessageResult> SendUntilScannedAsync(this MilterClient mta, byte[] message, LogCollector logs, string deadlineLine, int tries = 5)
    {
        for (int i = 1; ; i++)
        {
            int missed = logs.Lines.Count(l => l.Contains(deadlineLine, StringComparison.Ordinal));
            EndOfMessageResult result = await mta.SendAsync(message);
            if (!result.Reply.IsTemporaryFailure || i == tries)
            {
                return result;
            }

            Assert.True(
                logs.Lines.Count(l => l.Contains(deadlineLine, StringComparison.Ordinal)) > missed,
                $"try {i} was refused for another reason than the deadline:\n{string.Join("\n", logs.Lines)}");
        }
    }
}
