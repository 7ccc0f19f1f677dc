extern alias Generator;

using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>The generator references no project, so it copies a few rules; these tests keep the copies in step.</summary>
public class CopiedRulesTests
{
    public static TheoryData<int, string?, string[]> Replies => new()
    {
        { 550, "5.7.1", ["Rejected"] },
        { 451, null, ["Try later"] },
        { 421, "4.3.2", ["a", "b", "c"] },
        { 250, "2.0.0", ["ok"] },
        { 399, null, ["x"] },
        { 600, null, ["x"] },
        { 550, "4.7.1", ["mixed"] },
        { 450, "5.7.1", ["mixed"] },
        { 550, "2.0.0", ["success class"] },
        { 550, "5.7", ["short"] },
        { 550, "5.1234.1", ["long part"] },
        { 550, "5.a.1", ["letter"] },
        { 550, "6.1.1", ["class 6"] },
        { 550, "5.7.1", [] },
        { 550, "5.7.1", ["a\r\nb"] },
        { 550, "5.7.1", ["a\nb"] },
        { 550, "5.7.1", ["a\rb"] },
        { 550, null, [.. Enumerable.Repeat("line", 32)] },
        { 550, null, [.. Enumerable.Repeat("line", 33)] },
        { 550, null, [new string('x', 980)] },
        { 550, null, [new string('x', 490), new string('y', 491)] },
        { 550, null, ["100% sure"] },
    };

    public static TheoryData<string> ParsedReplies =>
    [
        "550 5.7.1 Recipient rejected",
        "451 Try later",
        "550",
        "550 ",
        "55 short code",
        "5500 long code",
        "abc not a number",
        "+12 sign",
        "250 2.0.0 ok",
        "550 4.7.1 wrong class",
        "550 5.7 not an extended code",
        "451 4.3.0 a\r\nb",
        "Rejected",
        "",
    ];

    [Theory]
    [MemberData(nameof(Replies))]
    public void The_generator_rejects_exactly_the_replies_SmtpReply_Create_rejects(int code, string? extendedCode, string[] lines)
    {
        string? runtime = SmtpReply.Validate(code, extendedCode, lines);
        string? generator = SmtpReplyRules.Validate(code, true, extendedCode, lines);

        Assert.Equal(runtime, generator);
    }

    [Theory]
    [MemberData(nameof(ParsedReplies))]
    public void The_generator_rejects_exactly_the_replies_SmtpReply_Parse_rejects(string reply)
    {
        string? runtime = null;
        try
        {
            SmtpReply.Parse(reply);
        }
        catch (ArgumentException ex)
        {
            runtime = ex.Message[..ex.Message.LastIndexOf(" (Parameter", StringComparison.Ordinal)];
        }

        Assert.Equal(runtime, SmtpReplyRules.ValidateParse(reply, out int? _));
    }

    [Fact]
    public void Unknown_parts_of_a_reply_are_not_held_against_it()
    {
        Assert.Null(SmtpReplyRules.Validate(null, false, null, null));
        Assert.Null(SmtpReplyRules.Validate(550, false, null, [null, "text"]));
        Assert.Null(SmtpReplyRules.Validate(null, true, "4.7.1", ["text"]));
        Assert.NotNull(SmtpReplyRules.Validate(null, true, "4.71", null));
    }

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
    public void Macro_names_are_normalised_to_the_form_Sendmail_sends(string? given, string? expected)
        => Assert.Equal(expected, MacroTable.Normalize(given));
}
