namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>An SMTP reply: the code and the text of every line (without the code and separator).</summary>
public sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    public string Text => string.Join('\n', Lines);

    public bool IsPositive => Code is >= 200 and < 400;

    public bool IsTransientFailure => Code is >= 400 and < 500;

    public bool IsPermanentFailure => Code >= 500;

    public override string ToString() => string.Join('\n', Lines.Select(line => $"{Code} {line}"));
}
