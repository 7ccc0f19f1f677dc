namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>How to configure a <see cref="SendmailInstance"/>.</summary>
public sealed record SendmailOptions
{
    /// <summary>The milter of the INPUT_MAIL_FILTER line.</summary>
    public required MilterEndpoint Milter { get; init; }

    /// <summary>
    /// What Sendmail does when the milter is unreachable or fails (INPUT_MAIL_FILTER F=): tempfail (F=T), reject (F=R)
    /// or accept (no flag: the filter is ignored).
    /// </summary>
    public string DefaultAction { get; init; } = "tempfail";

    /// <summary>INPUT_MAIL_FILTER T= (connect, send, receive, end-of-message timeouts).</summary>
    public string Timeouts { get; init; } = "C:5s;S:10s;R:10s;E:1m";

    /// <summary>Extra lines for sendmail.mc before the mailer definitions, e.g. define(`confMILTER_MACROS_CONNECT', ...)dnl.</summary>
    public IReadOnlyList<string> ExtraMcLines { get; init; } = [];
}
