using AotMilter.Filters.Matching;

namespace AotMilter.Filters.Rules;

/// <summary>
/// A content rule: a header rule (header names matching <see cref="HeaderName"/> whose decoded value matches
/// <see cref="Pattern"/>) or a body rule (the decoded text of the message's text parts), and what to do.
/// </summary>
public sealed class ContentRule
{
    /// <summary>Null for a body rule.</summary>
    public NamePattern? HeaderName { get; init; }

    public required TextPattern Pattern { get; init; }

    public required IReadOnlyList<RuleAction> Actions { get; init; }

    public required string Source { get; init; }

    public bool IsBodyRule => HeaderName is null;

    /// <summary>The rule's first reject, tempfail or discard, or null when it only changes the message.</summary>
    public RuleAction? Terminal => Actions.FirstOrDefault(a => a.IsTerminal);

    public override string ToString() => Source;
}
