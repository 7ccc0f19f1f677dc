extern alias Generator;

using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>How a [Macro] name is written on the wire: what the generated code asks the MTA for and reads back.</summary>
public class MacroNameTests
{
    [Theory]
    [InlineData("i", "i")]
    [InlineData("{i}", "i")]
    [InlineData("j", "j")]
    [InlineData("_", "_")]
    [InlineData("auth_authen", "{auth_authen}")]
    [InlineData("{auth_authen}", "{auth_authen}")]
    [InlineData("{daemon_name}", "{daemon_name}")]
    [InlineData("", null)]
    [InlineData("{}", null)]
    [InlineData("{", null)]
    [InlineData("a b", null)]
    [InlineData("{a}b}", null)]
    [InlineData("{ab", null)]
    [InlineData("ü", null)]
    [InlineData(null, null)]
    public void MacroNamesAreNormalisedToTheFormSendmailSends(string? given, string? expected)
        => Assert.Equal(expected, MacroTable.Normalize(given));
}
