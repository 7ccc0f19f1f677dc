using System.Text;
using AotMilter.Filters.Disclaimer;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class DisclaimerFilterTests
{
    private const string Config = """
        [disclaimer]
        senders = example.net
        text = "--\nConfidential (unit-disclaimer)."
        """;

    private static async Task<EndOfMessageResult> SendAsync(FilterHost host, List<KeyValuePair<string, string>> headers, byte[] body)
    {
        await using MilterClient mta = await host.ConnectAsync();
        return (await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, "4QID7"))!;
    }

    private static byte[] Replacement(EndOfMessageResult result)
        => result.Modifications.OfType<Modification.ReplaceBody>().SelectMany(m => m.Chunk).ToArray();

    [Fact]
    public async Task AMegabyteOfEmptyPartsPassesUnchangedAndTheLogSaysWhyWithTheQueueId()
    {
        await using FilterHost host = FilterHost.Start(Config, "disclaimer");

        EndOfMessageResult result = await SendAsync(host, Bodies.MixedHeaders, Bodies.Repeat("--b\r\n", 1 << 20));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Empty(result.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("no disclaimer for 4QID7: more than 500 MIME parts (max-mime-parts)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheLimitsComeFromTheConfiguration()
    {
        await using FilterHost host = FilterHost.Start(Config + "\nmax-mime-parts = 2\n", "disclaimer");

        EndOfMessageResult three = await SendAsync(host, Bodies.MixedHeaders, Bodies.Parts(3));
        EndOfMessageResult two = await SendAsync(host, Bodies.MixedHeaders, Bodies.Parts(2));

        Assert.Empty(three.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("4QID7: more than 2 MIME parts (max-mime-parts)", StringComparison.Ordinal));
        Assert.Contains("unit-disclaimer", Encoding.ASCII.GetString(Replacement(two)));
    }

    [Fact]
    public async Task ABodyOverMaxMessageSizePassesUnchangedAndIsLogged()
    {
        await using FilterHost host = FilterHost.Start(Config + "\nmax-message-size = 1K\n", "disclaimer");

        EndOfMessageResult result = await SendAsync(host, [new("Subject", "big")], Bodies.Repeat("long line of text\r\n", 4096));

        Assert.Empty(result.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("no disclaimer for 4QID7: the body is larger than max-message-size (1024 bytes)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AfterRulesInAChainALargeBodyGetsBothFiltersChanges()
    {
        // Both filters hand a body past one chunk to the thread pool; the chain waits for each in turn.
        await using FilterHost host = FilterHost.Start(Config + "\n[rules]\nbody = \"the very end\" add-header X-Rules end\n", "rules", "disclaimer");
        byte[] body = [.. Bodies.Repeat("filler line\r\n", 500 * 1024), .. Encoding.ASCII.GetBytes("the very end\r\n")];

        EndOfMessageResult result = await SendAsync(host, [new("Subject", "long")], body);

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Contains(new Modification.AddHeader("X-Rules", "end"), result.Modifications);
        Assert.EndsWith("the very end\r\n\r\n--\r\nConfidential (unit-disclaimer).\r\n", Encoding.ASCII.GetString(Replacement(result)));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(300 * 1024)]
    [InlineData(3 * 1024 * 1024)]
    public async Task ABodyOfAnySizeGetsExactlyTheBytesOfTheRewritePieceByPiece(int size)
    {
        // Small bodies are rewritten in the callback, larger ones on the thread pool; both reach the MTA in pieces.
        await using FilterHost host = FilterHost.Start(Config, "disclaimer");
        List<KeyValuePair<string, string>> headers = [new("Subject", "text"), new("Content-Type", "text/plain; charset=us-ascii")];
        byte[] body = Bodies.Repeat("A line of plain text, as long as most lines of mail are.\r\n", size);
        DisclaimerSettings settings = (DisclaimerSettings)host.Chain.Settings[0]!;

        EndOfMessageResult result = await SendAsync(host, headers, body);

        byte[] expected = settings.Rewriter.Rewrite(body, headers).NewBodyArray(body)!;
        Assert.Equal(expected, Replacement(result));
        Assert.Contains(new Modification.AddHeader(DisclaimerSettings.DefaultMarkerHeader, "yes"), result.Modifications);
        Assert.True(expected.AsSpan().StartsWith(body), "the original body comes first, unchanged");
        Assert.EndsWith("\r\n\r\n--\r\nConfidential (unit-disclaimer).", Encoding.ASCII.GetString(expected));
    }
}
