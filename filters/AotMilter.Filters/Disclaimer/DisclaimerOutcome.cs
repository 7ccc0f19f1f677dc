namespace AotMilter.Filters.Disclaimer;

/// <summary>What the disclaimer rewrite did with a message.</summary>
public enum DisclaimerOutcome
{
    /// <summary>At least one text part got the disclaimer.</summary>
    Added,

    /// <summary>Signed or encrypted: left exactly as it was (any change would break the signature).</summary>
    Signed,

    /// <summary>No text part to add to (only attachments, a report, a forwarded message ...), or none that could take it.</summary>
    NoTextPart,

    /// <summary>The MIME structure is broken (a boundary never closes, nesting too deep): left as it was.</summary>
    Malformed,

    /// <summary>The MIME structure is beyond the configured limits (parts, header fields, header size): left as it was.</summary>
    OverLimits,
}
