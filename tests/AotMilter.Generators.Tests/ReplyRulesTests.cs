extern alias Generator;

namespace AotMilter.Generators.Tests;

/// <summary>
/// libmilter's reply rules, as SmtpReply applies them at run time and the generator at compile time (AOTM022): both
/// compile the one SmtpReplyRules file, so each case is checked against its expected outcome through both entry points.
/// </summary>
public class ReplyRulesTests
{
    private const string NotAReply = "is not an SMTP reply: expected \"CODE [X.Y.Z] text\"";
    private const string Form = "is not of the form C.SSS.DDD (C = 4 or 5)";
    private const string CrLf = "SMTP reply text must not contain CR or LF; pass each line separately";

    public static TheoryData<int, string?, string[], string?> Replies => new()
    {
        { 550, "5.7.1", ["Rejected"], null },
        { 451, null, ["Try later"], null },
        { 421, "4.3.2", ["a", "b", "c"], null },
        { 250, "2.0.0", ["ok"], "SMTP reply code 250 is not 4xx or 5xx" },
        { 399, null, ["x"], "SMTP reply code 399 is not 4xx or 5xx" },
        { 600, null, ["x"], "SMTP reply code 600 is not 4xx or 5xx" },
        { 550, "4.7.1", ["mixed"], "extended status code '4.7.1' does not match the class of reply code 550" },
        { 450, "5.7.1", ["mixed"], "extended status code '5.7.1' does not match the class of reply code 450" },
        { 550, "2.0.0", ["success class"], "extended status code '2.0.0' does not match the class of reply code 550" },
        { 550, "5.7", ["short"], $"extended status code '5.7' {Form}" },
        { 550, "5.1234.1", ["long part"], $"extended status code '5.1234.1' {Form}" },
        { 550, "5.a.1", ["letter"], $"extended status code '5.a.1' {Form}" },
        { 550, "6.1.1", ["class 6"], $"extended status code '6.1.1' {Form}" },
        { 550, "5.7.1", [], "an SMTP reply needs at least one line of text" },
        { 550, "5.7.1", ["a\r\nb"], CrLf },
        { 550, "5.7.1", ["a\nb"], CrLf },
        { 550, "5.7.1", ["a\rb"], CrLf },
        { 550, null, [.. Enumerable.Repeat("line", 32)], null },
        { 550, null, [.. Enumerable.Repeat("line", 33)], "an SMTP reply may have at most 32 lines; this one has 33" },
        { 550, null, [new string('x', 980)], null },
        { 550, null, [new string('x', 490), new string('y', 491)], "SMTP reply text is 981 characters; the maximum is 980" },
        { 550, null, ["100% sure"], null },
    };

    public static TheoryData<string, string?> ParsedReplies => new()
    {
        { "550 5.7.1 Recipient rejected", null },
        { "451 Try later", null },
        { "550 ", null },
        { "550 5.7 not an extended code", null },
        { "550", $"'550' {NotAReply}" },
        { "55 short code", $"'55 short code' {NotAReply}" },
        { "5500 long code", $"'5500 long code' {NotAReply}" },
        { "abc not a number", $"'abc not a number' {NotAReply}" },
        { "Rejected", $"'Rejected' {NotAReply}" },
        { "", $"'' {NotAReply}" },
        { "+12 sign", "SMTP reply code 12 is not 4xx or 5xx" },
        { "250 2.0.0 ok", "SMTP reply code 250 is not 4xx or 5xx" },
        { "550 4.7.1 wrong class", "extended status code '4.7.1' does not match the class of reply code 550" },
        { "451 4.3.0 a\r\nb", CrLf },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void AReplyIsRefusedForTheFirstRuleItBreaks(int code, string? extendedCode, string[] lines, string? expected)
    {
        Assert.Equal(expected, SmtpReply.Validate(code, extendedCode, lines));
        Assert.Equal(expected, Generator::AotMilter.SmtpReplyRules.Validate(code, true, extendedCode, lines));
        if (expected is null)
        {
            Assert.Equal(code, SmtpReply.Create(code, extendedCode, lines).Code);
        }
        else
        {
            Assert.Equal(expected, ThrownMessage(() => SmtpReply.Create(code, extendedCode, lines)));
        }
    }

    [Theory]
    [MemberData(nameof(ParsedReplies))]
    public void AOneLineReplyIsParsedOrRefusedWithTheReason(string reply, string? expected)
    {
        Assert.Equal(expected, ThrownMessage(() => SmtpReply.Parse(reply)));
        Assert.Equal(expected, Generator::AotMilter.SmtpReplyRules.ValidateParse(reply, out int? _));
    }

    [Fact]
    public void UnknownPartsOfAReplyAreNotHeldAgainstItAtCompileTime()
    {
        Assert.Null(Generator::AotMilter.SmtpReplyRules.Validate(null, false, null, null));
        Assert.Null(Generator::AotMilter.SmtpReplyRules.Validate(550, false, null, [null, "text"]));
        Assert.Null(Generator::AotMilter.SmtpReplyRules.Validate(null, true, "4.7.1", ["text"]));
        Assert.NotNull(Generator::AotMilter.SmtpReplyRules.Validate(null, true, "4.71", null));
        Assert.Equal(
            "SMTP reply text is 981 or more characters; the maximum is 980",
            Generator::AotMilter.SmtpReplyRules.Validate(550, true, null, [new string('x', 981), null]));
    }

    /// <summary>The ArgumentException's message without the " (Parameter 'x')" the runtime appends; null when nothing is thrown.</summary>
    private static string? ThrownMessage(Action create)
    {
        try
        {
            create();
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message[..ex.Message.LastIndexOf(" (Parameter", StringComparison.Ordinal)];
        }
    }
}
