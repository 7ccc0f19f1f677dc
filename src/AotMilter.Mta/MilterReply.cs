using System.Globalization;

namespace AotMilter.Mta;

/// <summary>What kind of answer the milter gave to one event.</summary>
public enum MilterReplyKind
{
    /// <summary>The event was negotiated as no-reply (NR_* bit), so the client did not wait for an answer.</summary>
    NoReply,

    /// <summary><c>c</c>: go on (at end of message: accept).</summary>
    Continue,

    /// <summary><c>a</c>: accept the message (at connect or HELO: the whole connection) without further filtering.</summary>
    Accept,

    /// <summary><c>r</c>: reject with the MTA's default 5xx text.</summary>
    Reject,

    /// <summary><c>t</c>: fail temporarily with the MTA's default 4xx text.</summary>
    TempFail,

    /// <summary><c>d</c>: accept and silently drop the message.</summary>
    Discard,

    /// <summary><c>s</c>: send no more events of this kind (body chunks).</summary>
    Skip,

    /// <summary><c>y</c>: reject or fail temporarily with the milter's own SMTP reply (see <see cref="MilterReply.Code"/>).</summary>
    ReplyCode,

    /// <summary><c>4</c>: 421, shut the SMTP session down (Postfix honours it; libmilter never sends it).</summary>
    Shutdown,
}

/// <summary>
/// The milter's answer to one event. For <see cref="MilterReplyKind.ReplyCode"/>, <see cref="Code"/> is the
/// three-digit SMTP code and <see cref="Text"/> the whole reply as sent (lines joined by CRLF, '%' escaped as "%%").
/// </summary>
public sealed record MilterReply(MilterReplyKind Kind, int Code = 0, string? Text = null)
{
    public static MilterReply NoReply { get; } = new(MilterReplyKind.NoReply);

    public static MilterReply Continue { get; } = new(MilterReplyKind.Continue);

    public static MilterReply Accept { get; } = new(MilterReplyKind.Accept);

    public static MilterReply Reject { get; } = new(MilterReplyKind.Reject);

    public static MilterReply TempFail { get; } = new(MilterReplyKind.TempFail);

    public static MilterReply Discard { get; } = new(MilterReplyKind.Discard);

    public static MilterReply Skip { get; } = new(MilterReplyKind.Skip);

    public static MilterReply Shutdown { get; } = new(MilterReplyKind.Shutdown);

    /// <summary>A custom reply, as it appears on the wire: <c>"550 5.7.1 Go away"</c>, or several lines joined by CRLF.</summary>
    /// <exception cref="FormatException">The text does not start with a 4xx or 5xx code.</exception>
    public static MilterReply WithCode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length < 3 || text[0] is not ('4' or '5') || !char.IsAsciiDigit(text[1]) || !char.IsAsciiDigit(text[2])
            || (text.Length > 3 && text[3] is not (' ' or '-')))
        {
            throw new FormatException($"'{text}' is not an SMTP reply with a 4xx or 5xx code");
        }

        return new MilterReply(MilterReplyKind.ReplyCode, int.Parse(text.AsSpan(0, 3), CultureInfo.InvariantCulture), text);
    }

    /// <summary>True for <c>r</c> and for a custom 5xx reply.</summary>
    public bool IsRejection => Kind == MilterReplyKind.Reject || (Kind == MilterReplyKind.ReplyCode && Code >= 500);

    /// <summary>True for <c>t</c> and for a custom 4xx reply.</summary>
    public bool IsTemporaryFailure => Kind == MilterReplyKind.TempFail || (Kind == MilterReplyKind.ReplyCode && Code < 500);

    /// <summary>The lines of a custom reply, each with its code (<c>"550-5.7.1 first"</c>, <c>"550 5.7.1 last"</c>).</summary>
    public IReadOnlyList<string> Lines => Text is null ? [] : Text.Split("\r\n");

    public override string ToString() => Kind == MilterReplyKind.ReplyCode
        ? $"replycode \"{Text!.Replace("\r\n", "\\r\\n", StringComparison.Ordinal)}\""
        : Kind.ToString().ToLowerInvariant();
}
