using System.Text;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// A custom SMTP reply (smfi_setreply / smfi_setmlreply), validated once when created and pre-encoded as the
/// SMFIR_REPLYCODE payload, so sending it allocates nothing. Create replies once (static readonly fields) and reuse them.
/// </summary>
public sealed class SmtpReply
{
    /// <summary>libmilter's limit on the whole reply text (MAXREPLYLEN).</summary>
    public const int MaxTextLength = SmtpReplyRules.MaxTextLength;

    /// <summary>libmilter's limit on the number of lines (MAXREPLIES).</summary>
    public const int MaxLines = SmtpReplyRules.MaxLines;

    private readonly byte[] _payload;

    private SmtpReply(int code, string? extendedCode, string[] lines, byte[] payload)
    {
        Code = code;
        ExtendedCode = extendedCode;
        Lines = lines;
        _payload = payload;
    }

    /// <summary>The three-digit SMTP code, 400–599.</summary>
    public int Code { get; }

    /// <summary>The enhanced status code (RFC 3463), such as 5.7.1, or null.</summary>
    public string? ExtendedCode { get; }

    /// <summary>The text lines as given (before '%' escaping).</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>True for 4xx replies (they go with tempfail), false for 5xx (reject).</summary>
    public bool IsTransient => Code < 500;

    /// <summary>The SMFIR_REPLYCODE payload: the reply lines joined by CRLF, NUL-terminated.</summary>
    public ReadOnlySpan<byte> Payload => _payload;

    /// <summary>
    /// Creates a reply. Each line becomes <c>code-ext text</c>, the last <c>code ext text</c>. A literal '%' is sent as
    /// "%%" because Sendmail treats reply text as a format string (Postfix turns "%%" back into '%').
    /// </summary>
    /// <exception cref="ArgumentException">The code is not 4xx/5xx, the extended code is malformed or of another class,
    /// a line contains CR or LF, or the text is longer than libmilter allows.</exception>
    public static SmtpReply Create(int code, string? extendedCode, params string[] lines)
    {
        string? error = Validate(code, extendedCode, lines);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(lines));
        }

        var text = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                text.Append("\r\n");
            }

            text.Append(code).Append(i == lines.Length - 1 ? ' ' : '-');
            if (extendedCode is not null)
            {
                text.Append(extendedCode).Append(' ');
            }

            text.Append(lines[i].Replace("%", "%%", StringComparison.Ordinal));
        }

        byte[] payload = new byte[Encoding.UTF8.GetByteCount(text.ToString()) + 1];
        Encoding.UTF8.GetBytes(text.ToString(), payload);
        return new SmtpReply(code, extendedCode, (string[])lines.Clone(), payload);
    }

    /// <summary>
    /// Parses a reply written as one line, "550 5.7.1 Recipient rejected" or "451 Try later"; the extended code
    /// is recognised when the second word looks like one.
    /// </summary>
    public static SmtpReply Parse(string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        string? error = SmtpReplyRules.Split(reply, out int code, out string? extendedCode, out string text);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(reply));
        }

        return Create(code, extendedCode, text);
    }

    /// <summary>Returns why the reply is invalid, or null. The generator applies the same rules at compile time.</summary>
    public static string? Validate(int code, string? extendedCode, IReadOnlyList<string> lines)
        => SmtpReplyRules.Validate(code, true, extendedCode, lines);

    public override string ToString() => Encoding.UTF8.GetString(_payload.AsSpan(0, _payload.Length - 1));
}
