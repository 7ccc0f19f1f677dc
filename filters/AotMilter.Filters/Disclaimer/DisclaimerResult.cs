namespace AotMilter.Filters.Disclaimer;

/// <summary>The rewritten body and what else must change, or why nothing did.</summary>
public sealed class DisclaimerResult
{
    public required DisclaimerOutcome Outcome { get; init; }

    /// <summary>The new body when <see cref="Outcome"/> is <see cref="DisclaimerOutcome.Added"/>.</summary>
    public byte[]? Body { get; init; }

    /// <summary>
    /// Non-null when the message's own Content-Transfer-Encoding must become this value (a 7bit single-part message
    /// whose disclaimer is not ASCII is re-encoded as quoted-printable).
    /// </summary>
    public string? MessageTransferEncoding { get; init; }

    /// <summary>How many parts got the disclaimer.</summary>
    public int PartsChanged { get; init; }

    /// <summary>Parts left alone and why, for the log.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
