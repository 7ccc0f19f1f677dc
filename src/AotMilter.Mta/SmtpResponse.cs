namespace AotMilter.Mta;

/// <summary>
/// An SMTP reply as the client sees it: the code, the text of each line (after "550 " or "550-"), and the command
/// it answers. The kit predicts these from the milter's answers the way the chosen MTA words them.
/// </summary>
public sealed record SmtpResponse(int Code, IReadOnlyList<string> Lines, SmtpCommand At)
{
    public SmtpResponse(int code, string text, SmtpCommand at)
        : this(code, [text], at)
    {
    }

    /// <summary>The lines joined by "\n".</summary>
    public string Text => string.Join('\n', Lines);

    public bool IsPositive => Code is >= 200 and < 400;

    public bool IsTransientFailure => Code is >= 400 and < 500;

    public bool IsPermanentFailure => Code >= 500;

    public bool Equals(SmtpResponse? other) =>
        other is not null && Code == other.Code && At == other.At && Lines.SequenceEqual(other.Lines);

    public override int GetHashCode() => HashCode.Combine(Code, At);

    /// <summary>As on the wire: "550-5.7.1 first\n550 5.7.1 last".</summary>
    public override string ToString() =>
        string.Join('\n', Lines.Select((line, i) => $"{Code}{(i == Lines.Count - 1 ? ' ' : '-')}{line}"));
}
