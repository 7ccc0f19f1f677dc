namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>How to configure a <see cref="PostfixInstance"/>.</summary>
public sealed record PostfixOptions
{
    /// <summary>The milter for <c>smtpd_milters</c>; null runs Postfix without a milter.</summary>
    public MilterEndpoint? Milter { get; init; }

    /// <summary><c>milter_default_action</c>: accept, reject, tempfail or quarantine.</summary>
    public string DefaultAction { get; init; } = "tempfail";

    /// <summary>Further main.cf parameters (applied last, so they override the defaults), e.g. milter_protocol = 2.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}
