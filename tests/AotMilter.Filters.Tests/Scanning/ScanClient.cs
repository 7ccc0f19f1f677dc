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
}
