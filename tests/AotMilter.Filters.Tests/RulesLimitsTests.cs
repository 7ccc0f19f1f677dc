using System.Text;
using AotMilter.Filters.Mime;
using AotMilter.Filters.Rules;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Server.Configuration;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class RulesLimitsTests
{
    private const string Rules = """
        [rules]
        body = "part 1" add-header X-Rules first-part
        body = "part 5" tempfail
        """;

    private static async Task<EndOfMessageResult> SendAsync(FilterHost host, List<KeyValuePair<string, string>> headers, byte[] body)
    {
        await using MilterClient mta = await host.ConnectAsync();
        return (await mta.SendWithQueueIdAsync("a@example.net", "b@example.org", headers, body, "4QID7"))!;
    }

    [Fact]
    public async Task AMegabyteOfEmptyPartsGetsTheOverLimitsActionsAndTheLogSaysWhy()
    {
        await using FilterHost host = FilterHost.Start(Rules + "\nover-limits = quarantine \"MIME structure too complex\" add-header X-Rules-Limit yes\n", "rules");

        EndOfMessageResult result = await SendAsync(host, Bodies.MixedHeaders, Bodies.Repeat("--b\r\n", 1 << 20));

        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Contains(new Modification.Quarantine("MIME structure too complex"), result.Modifications);
        Assert.Contains(new Modification.AddHeader("X-Rules-Limit", "yes"), result.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("rules, 4QID7: more than 500 MIME parts (max-mime-parts); body rules read the parts before it; over-limits: Quarantine, AddHeader", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutOverLimitsTheMessagePassesWithTheRulesThatMatchedBeforeTheLimit()
    {
        await using FilterHost host = FilterHost.Start(Rules + "\nmax-mime-parts = 3\n", "rules");

        EndOfMessageResult result = await SendAsync(host, Bodies.MixedHeaders, Bodies.Parts(6));

        // "part 1" is read and tags the message; "part 5" lies beyond the limit, so its tempfail does not happen.
        Assert.Equal(MilterReply.Continue, result.Reply);
        Assert.Equal([new Modification.AddHeader("X-Rules", "first-part")], result.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("rules, 4QID7: more than 3 MIME parts (max-mime-parts); body rules read the parts before it; over-limits: none", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOverLimitsRejectRejectsWithItsReply()
    {
        await using FilterHost host = FilterHost.Start(Rules + "\nmax-mime-parts = 3\nover-limits = reject \"550 5.7.1 Too many MIME parts\"\n", "rules");

        EndOfMessageResult result = await SendAsync(host, Bodies.MixedHeaders, Bodies.Parts(4));
        EndOfMessageResult within = await SendAsync(host, Bodies.MixedHeaders, Bodies.Parts(3));

        Assert.Equal("replycode \"550 5.7.1 Too many MIME parts\"", result.Reply.ToString());
        Assert.Equal(MilterReply.Continue, within.Reply);
    }

    [Fact]
    public async Task ABodyLargerThanMaxBodyScanIsReadUpToItAndThatIsLogged()
    {
        await using FilterHost host = FilterHost.Start("[rules]\nbody = needle add-header X-Rules found\nbody = haystack-end add-header X-Rules end\nmax-body-scan = 1K\n", "rules");
        byte[] body = [.. Encoding.ASCII.GetBytes("a needle near the start\r\n"), .. Bodies.Repeat("filler line\r\n", 10_000), .. Encoding.ASCII.GetBytes("haystack-end\r\n")];

        EndOfMessageResult result = await SendAsync(host, [new("Subject", "long")], body);

        Assert.Equal([new Modification.AddHeader("X-Rules", "found")], result.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("rules, 4QID7: the body is larger than max-body-scan; body rules read its first 1024 bytes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(10 * 1024)]
    [InlineData(900 * 1024)]
    public async Task BodyRulesMatchAtTheEndOfABodyWhateverItsSize(int size)
    {
        // Past one chunk the body is parsed and matched on the thread pool; the verdict is the same.
        await using FilterHost host = FilterHost.Start("[rules]\nbody = \"the very end\" add-header X-Rules end\n", "rules");
        byte[] body = [.. Bodies.Repeat("filler line\r\n", size), .. Encoding.ASCII.GetBytes("\r\nthe very end\r\n")];

        EndOfMessageResult result = await SendAsync(host, [new("Subject", "long")], body);

        Assert.Equal([new Modification.AddHeader("X-Rules", "end")], result.Modifications);
    }

    [Theory]
    [InlineData("max-mime-parts = 0", "rules.max-mime-parts", "out of range")]
    [InlineData("max-part-header-fields = lots", "rules.max-part-header-fields", "not a whole number")]
    [InlineData("max-part-header-size = 100", "rules.max-part-header-size", "out of range")]
    [InlineData("over-limits = shrug", "rules.over-limits", "'shrug' is not an action")]
    [InlineData("over-limits = reject discard", "rules.over-limits", "not several")]
    public void BadLimitSettingsAreReportedWithTheirLine(string line, string field, string message)
    {
        SettingsLoadResult result = FilterHost.Load($"[rules]\n{line}\n", [FilterHost.Filter("rules")]);

        var error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void LimitSettingsAreReadByBothMimeFilters()
    {
        const string limits = "max-mime-parts = 20\nmax-part-header-fields = 30\nmax-part-header-size = 8K\n";
        SettingsLoadResult result = FilterHost.Load(
            $"[rules]\n{limits}over-limits = tempfail\n[disclaimer]\nsenders = example.net\ntext = x\n{limits}",
            [FilterHost.Filter("rules"), FilterHost.Filter("disclaimer")]);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var rules = (RulesSettings)result.Settings[0]!;
        var disclaimer = (Disclaimer.DisclaimerSettings)result.Settings[1]!;
        Assert.Equal(new MimeLimits(20, 30, 8192), rules.Limits);
        Assert.Equal(new MimeLimits(20, 30, 8192), disclaimer.Limits);
        Assert.Equal(RuleActionKind.TempFail, Assert.Single(rules.OverLimits!.Actions).Kind);
        Assert.Equal(MimeLimits.Default, ((RulesSettings)FilterHost.Load("[rules]\n", [FilterHost.Filter("rules")]).Settings[0]!).Limits);
    }
}
