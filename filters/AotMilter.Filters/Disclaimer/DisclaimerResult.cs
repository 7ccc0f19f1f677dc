using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Disclaimer;

/// <summary>What to change in the body and the header, or why nothing changes.</summary>
public sealed class DisclaimerResult
{
    public required DisclaimerOutcome Outcome { get; init; }

    /// <summary>The changes to the body, in order, when <see cref="Outcome"/> is <see cref="DisclaimerOutcome.Added"/>.</summary>
    internal IReadOnlyList<BodyEdit> Edits { get; init; } = [];

    /// <summary>
    /// Non-null when the message's own Content-Transfer-Encoding must become this value (a 7bit single-part message
    /// whose disclaimer is not ASCII is re-encoded as quoted-printable).
    /// </summary>
    public string? MessageTransferEncoding { get; init; }

    /// <summary>How many parts got the disclaimer.</summary>
    public int PartsChanged { get; init; }

    /// <summary>With <see cref="DisclaimerOutcome.OverLimits"/>: the limit the message went beyond.</summary>
    public MimeLimit Exceeded { get; init; }

    /// <summary>Parts left alone and why, for the log.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The new body, made of <paramref name="original"/> (the body given to the rewrite) and the inserted bytes.</summary>
    public BodyPieces NewBody(ReadOnlySpan<byte> original) => new(original, Edits);

    /// <summary>The new body in one array, or null when nothing changes (tests and tools).</summary>
    public byte[]? NewBodyArray(ReadOnlySpan<byte> original) => Outcome == DisclaimerOutcome.Added ? NewBody(original).ToArray() : null;
}
