using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Scanning;

internal static class ScanClient
{
    /// <summary>One whole message (a file's bytes) from a@example.net to b@example.org, with queue id <paramref name="queueId"/> at end of message.</summary>
    public static async Task<EndOfMessageResult> SendAsync(this MilterClient mta, byte[] message, string queueId = "Q1")
    {
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.Split(message);
        EndOfMessageResult? result = await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, queueId);
        return Assert.IsType<EndOfMessageResult>(result);
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
