using AotMilter.Filters.Matching;

namespace AotMilter.Filters.Policy;

/// <summary>One policy line: what it looks at, the patterns, what it does, when, and with which reply.</summary>
public sealed class PolicyRule
{
    public required PolicySubject Subject { get; init; }

    public required PolicyAction Action { get; init; }

    public required PolicyStage Stage { get; init; }

    /// <summary>The reply for reject and tempfail (never null for them).</summary>
    public SmtpReply? Reply { get; init; }

    /// <summary>null: either; true: only authenticated clients; false: only clients that did not authenticate.</summary>
    public bool? RequiresAuth { get; init; }

    public IReadOnlyList<IpNetwork> Networks { get; init; } = [];

    /// <summary>Names: host names for client rules, HELO names, login names.</summary>
    public IReadOnlyList<NamePattern> Names { get; init; } = [];

    public IReadOnlyList<AddressPattern> Addresses { get; init; } = [];

    /// <summary>Where the rule is written, for the log: "policy.sender (aotmilter.conf:12)".</summary>
    public required string Source { get; init; }

    public bool IsMatch(PolicyFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (RequiresAuth is bool auth && auth != (facts.AuthUser is not null))
        {
            return false;
        }

        switch (Subject)
        {
            case PolicySubject.Client:
                if (facts.ClientAddress is not null)
                {
                    foreach (IpNetwork network in Networks)
                    {
                        if (network.Contains(facts.ClientAddress))
                        {
                            return true;
                        }
                    }
                }

                return AnyName(facts.ClientName);
            case PolicySubject.Helo:
                return facts.Helo is not null && AnyName(facts.Helo);
            case PolicySubject.Auth:
                return facts.AuthUser is not null && AnyName(facts.AuthUser);
            case PolicySubject.Sender:
                return facts.Sender is not null && AnyAddress(facts.Sender);
            case PolicySubject.Recipient:
                return facts.Recipient is not null && AnyAddress(facts.Recipient);
            default:
                return false;
        }
    }

    public override string ToString() => Source;

    private bool AnyName(string value)
    {
        foreach (NamePattern name in Names)
        {
            if (name.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyAddress(string value)
    {
        foreach (AddressPattern address in Addresses)
        {
            if (address.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }
}
