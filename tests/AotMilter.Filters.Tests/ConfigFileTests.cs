using AotMilter.Configuration;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Server.Configuration;

namespace AotMilter.Filters.Tests;

public class ConfigFileTests
{
    [Fact]
    public void SectionsKeysRepeatedKeysCommentsAndQuotedValuesAreReadWithTheirLines()
    {
        ConfigFile file = ConfigFile.Parse(""""
            # comment
            ; another comment
            [policy]
            sender = reject @a.example
              sender   =   reject @b.example reply="550 5.7.1 # not a comment"

            [disclaimer]
            text = "  two\nlines \"quoted\"  "
            html = """
            <p>one</p>
            <p>two</p>
            """
            senders = example.com
            """", "x.conf");

        Assert.Empty(file.Errors);
        Assert.Equal(["policy", "disclaimer"], file.Sections.Select(s => s.Name));
        ConfigSection policy = file.Find("policy")!;
        Assert.Equal([4, 5], policy.GetAll("sender").Select(e => e.Line));
        Assert.Equal("reject @b.example reply=\"550 5.7.1 # not a comment\"", policy.GetAll("sender").Last().Value);
        ConfigSection disclaimer = file.Find("disclaimer")!;
        Assert.Equal("  two\nlines \"quoted\"  ", disclaimer.Get("text")!.Value);
        Assert.Equal("<p>one</p>\n<p>two</p>", disclaimer.Get("html")!.Value);
        Assert.Equal(13, disclaimer.Get("senders")!.Line);
    }

    [Theory]
    [InlineData("key = value", 1, "key", "outside any section")]
    [InlineData("[policy", 1, "[policy", "']' is missing")]
    [InlineData("[policy]\njust some words", 2, "policy.just some words", "expected 'key = value'")]
    [InlineData("[policy]\nsender = \"open", 2, "policy.sender", "not closed")]
    [InlineData("[policy]\ntext = \"\"\"\nnever closed", 2, "policy.text", "never closed")]
    [InlineData("[policy]\n[policy]", 2, "[policy]", "appears twice")]
    public void SyntaxErrorsNameTheLineAndTheField(string text, int line, string field, string message)
    {
        ConfigError error = Assert.Single(ConfigFile.Parse(text, "x.conf").Errors);
        Assert.Equal(line, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
        Assert.StartsWith($"x.conf:{line}: {field}: ", error.ToString());
    }

    [Fact]
    public void WordsSplitOnSpacesAndCommasKeepQuotedPartsAndReadRegexes()
    {
        Assert.True(ConfigWords.TrySplit("""reject a@b.example, "two words" reply="550 5.7.1 x, y" /a\/b\d+/i""", out List<ConfigWord> words, out _));
        Assert.Equal(
        [
            new ConfigWord("reject", ConfigWordKind.Plain),
            new ConfigWord("a@b.example", ConfigWordKind.Plain),
            new ConfigWord("two words", ConfigWordKind.Quoted),
            new ConfigWord("reply=550 5.7.1 x, y", ConfigWordKind.Plain),
            new ConfigWord(@"a/b\d+", ConfigWordKind.Regex, "i"),
        ], words);
        Assert.True(words[3].IsOption("reply", out string reply));
        Assert.Equal("550 5.7.1 x, y", reply);
        Assert.False(ConfigWords.TrySplit("/unclosed", out _, out string? error));
        Assert.Contains("no closing '/'", error);
    }

    [Theory]
    [InlineData("10M", 10L << 20)]
    [InlineData("512k", 512L << 10)]
    [InlineData("1GB", 1L << 30)]
    [InlineData("1234", 1234L)]
    public void SizesReadBinaryUnits(string text, long bytes)
    {
        Assert.True(ConfigValues.TryParseSize(text, out long value));
        Assert.Equal(bytes, value);
    }

    [Fact]
    public void ABrokenFileGivesEveryErrorWithFileLineAndField()
    {
        SettingsLoadResult result = FilterHost.Load("""
            [policy]
            sender = rejct @x.example
            client = reject 192.0.2.1/24
            [rules]
            body = /(a)\1/ reject
            header = Subject foo explode
            [nosuch]
            x = 1
            [limits]
            max-recipients = lots
            colour = blue
            [ratelimit]
            sender = 10 per hour
            [disclaimer]
            senders = example.com
            [log]
            foo = bar
            """, [FilterHost.Filter("policy")]);

        Assert.False(result.IsValid);
        Assert.Equal(
        [
            "test.conf:2: policy.sender",
            "test.conf:3: policy.client",
            "test.conf:5: rules.body",
            "test.conf:6: rules.header",
            "test.conf:7: [nosuch]",
            "test.conf:10: limits.max-recipients",
            "test.conf:11: limits.colour",
            "test.conf:13: ratelimit.sender",
            "test.conf:14: disclaimer.text",
            "test.conf:17: log.foo",
        ], result.Errors.Select(e => $"{e.File}:{e.Line}: {e.Field}").Order(StringComparer.Ordinal).ToArray().OrderBy(s => int.Parse(s.Split(':')[1])));
        Assert.Contains(result.Errors, e => e.Message.Contains("did you mean 192.0.2.0/24"));
        Assert.Contains(result.Errors, e => e.Message.Contains("linear-time regex engine"));
    }

    [Fact]
    public void TheExampleConfigurationIsValid()
    {
        string path = Path.Combine(RepoRoot(), "contrib", "aotmilter.conf.example");
        SettingsLoadResult result = FilterSettingsLoader.Load(ConfigFile.Load(path), FilterHost.All, FilterHost.All);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }

    [Fact]
    public void AFilterThatNeedsSettingsSaysSoWhenItRunsWithoutASection()
    {
        SettingsLoadResult result = FilterHost.Load("[policy]\n", [FilterHost.Filter("disclaimer")]);
        ConfigError error = Assert.Single(result.Errors, e => e.Field == "disclaimer.text");
        Assert.Contains("without a [disclaimer] section", error.Message);
    }

    internal static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AotMilter.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root not found");
    }
}
