namespace AotMilter.Filters.Rules;

/// <summary>What a content rule does when it matches.</summary>
public enum RuleActionKind
{
    Reject,
    TempFail,
    Discard,

    /// <summary>Hold the message (Postfix: hold queue; Sendmail: quarantine) with a reason; it is still accepted.</summary>
    Quarantine,
    AddHeader,
    PrefixSubject,

    /// <summary>Deliver to these addresses instead of the original recipients.</summary>
    Redirect,
    ChangeSender,

    /// <summary>Also deliver a copy to these addresses.</summary>
    Bcc,
}

/// <summary>One action of a rule, with its arguments.</summary>
public sealed record RuleAction(RuleActionKind Kind, string Text = "", string Name = "", SmtpReply? Reply = null, IReadOnlyList<string>? Addresses = null)
{
    /// <summary>Reject, tempfail and discard end the message; the others change it.</summary>
    public bool IsTerminal => Kind is RuleActionKind.Reject or RuleActionKind.TempFail or RuleActionKind.Discard;

    public Verdict ToVerdict() => Kind switch
    {
        RuleActionKind.Reject => Verdict.RejectWith(Reply!),
        RuleActionKind.TempFail => Verdict.TempFailWith(Reply!),
        RuleActionKind.Discard => Verdict.Discard,
        _ => Verdict.Continue,
    };
}
