using System.Text;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Disclaimer;

/// <summary>
/// Adds a disclaimer to the visible text of a message and copies every other byte through unchanged.
/// <para>
/// Which parts: a single text/plain or text/html message; in multipart/alternative every text/plain and text/html
/// alternative (each is a rendering of the same text); in multipart/related its root; in multipart/mixed (and other
/// multiparts) the first part, the message text, unless it is an attachment. Never inside multipart/signed,
/// multipart/encrypted or application/pkcs7-mime (a signed message is left whole), never in attachments, forwarded
/// messages (message/rfc822), reports or digests, never in inline-PGP text.
/// </para>
/// <para>
/// How: 7bit/8bit/binary parts get the disclaimer's bytes inserted (appended to plain text, before &lt;/body&gt; in
/// HTML), in the part's charset; quoted-printable and base64 parts are decoded, changed and encoded again. When the
/// charset cannot represent the plain-text disclaimer the part is left alone (HTML uses character references
/// instead); a 7bit part whose disclaimer is not ASCII becomes quoted-printable. A broken structure changes nothing, and neither does a text whose changed lines would read as a MIME delimiter.
/// </para>
/// </summary>
public sealed class DisclaimerRewriter
{
    private readonly string _text;
    private readonly string _html;

    /// <param name="text">The plain-text disclaimer; lines separated by "\n".</param>
    /// <param name="html">The HTML disclaimer, inserted as written.</param>
    public DisclaimerRewriter(string text, string html)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(html);
        _text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\n');
        _html = html.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\n');
    }

    /// <summary>Rewrites a message given its header fields (as the MTA sent them) and its body, within the default MIME limits.</summary>
    public DisclaimerResult Rewrite(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers)
        => Rewrite(body, headers, MimeLimits.Default);

    /// <summary>
    /// Rewrites a message given its header fields (as the MTA sent them) and its body. A message beyond
    /// <paramref name="limits"/> is left as it was: only a whole structure says safely where the text parts end.
    /// </summary>
    public DisclaimerResult Rewrite(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, MimeLimits limits)
    {
        MimeEntity message = MimeParser.Parse(body, headers, limits, out MimeLimit exceeded);
        if (exceeded != MimeLimit.None)
        {
            return new DisclaimerResult { Outcome = DisclaimerOutcome.OverLimits, Exceeded = exceeded };
        }

        var notes = new List<string>();
        if (IsSigned(message.ContentType))
        {
            return new DisclaimerResult { Outcome = DisclaimerOutcome.Signed };
        }

        var walk = new Walk();
        Visit(message, walk);
        if (walk.Malformed is not null)
        {
            return new DisclaimerResult { Outcome = DisclaimerOutcome.Malformed, Notes = [walk.Malformed] };
        }

        if (walk.Targets.Count == 0)
        {
            return new DisclaimerResult { Outcome = walk.Signed ? DisclaimerOutcome.Signed : DisclaimerOutcome.NoTextPart };
        }

        string messageEnding = Lines.DetectEnding(body);
        var edits = new List<BodyEdit>();
        string? messageEncoding = null;
        int changed = 0;
        foreach (MimeEntity part in walk.Targets)
        {
            if (TryRewritePart(body, part, part == message, messageEnding, edits, notes, out bool becameQuotedPrintable))
            {
                changed++;
                if (becameQuotedPrintable && part == message)
                {
                    messageEncoding = "quoted-printable";
                }
            }
        }

        if (changed == 0)
        {
            return new DisclaimerResult { Outcome = DisclaimerOutcome.NoTextPart, Notes = notes };
        }

        edits.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        int broken = DelimiterGuard.FindNewDelimiter(body, message, edits);
        if (broken >= 0)
        {
            notes.Add($"the disclaimer at byte {broken} would turn a line of the text into a MIME boundary; left unchanged");
            return new DisclaimerResult { Outcome = DisclaimerOutcome.Malformed, Notes = notes };
        }

        return new DisclaimerResult
        {
            Outcome = DisclaimerOutcome.Added,
            Edits = edits,
            MessageTransferEncoding = messageEncoding,
            PartsChanged = changed,
            Notes = notes,
        };
    }

    /// <summary>multipart/signed, multipart/encrypted and S/MIME's application/pkcs7-mime must not change at all.</summary>
    public static bool IsSigned(ContentType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.Is("multipart", "signed") || type.Is("multipart", "encrypted")
            || type.Is("application", "pkcs7-mime") || type.Is("application", "x-pkcs7-mime");
    }

    private static void Visit(MimeEntity entity, Walk walk)
    {
        ContentType type = entity.ContentType;
        if (IsSigned(type))
        {
            walk.Signed = true;
            return;
        }

        if (type.IsMultipart)
        {
            if (!entity.HasDelimiters || !entity.Closed)
            {
                walk.Malformed ??= $"{type.MediaType} at depth {entity.Depth} {(entity.HasDelimiters ? "has no closing boundary" : "has none of its boundaries")}";
                return;
            }

            switch (type.Subtype)
            {
                case "alternative":
                    foreach (MimeEntity child in entity.Children)
                    {
                        Visit(child, walk);
                    }

                    break;
                case "related":
                    if (RootOf(entity) is MimeEntity root)
                    {
                        Visit(root, walk);
                    }

                    break;
                case "report" or "digest":
                    // Machine-readable reports and collections of messages: no text of the sender's own to sign off.
                    break;
                default:
                    if (entity.Children.Count > 0 && !entity.Children[0].IsAttachment)
                    {
                        Visit(entity.Children[0], walk);
                    }

                    break;
            }

            return;
        }

        if (type.Type == "text" && type.Subtype is "plain" or "html" && !entity.IsAttachment)
        {
            walk.Targets.Add(entity);
        }
    }

    /// <summary>The root of a multipart/related: the part its start parameter names, or the first.</summary>
    private static MimeEntity? RootOf(MimeEntity related)
    {
        string? start = related.ContentType["start"]?.Trim();
        if (!string.IsNullOrEmpty(start))
        {
            foreach (MimeEntity child in related.Children)
            {
                if (child.Find("Content-ID") is MimeHeaderField id && string.Equals(id.Value.Trim(), start, StringComparison.OrdinalIgnoreCase))
                {
                    return child;
                }
            }
        }

        return related.Children.Count > 0 ? related.Children[0] : null;
    }

    private bool TryRewritePart(ReadOnlySpan<byte> body, MimeEntity part, bool isMessage, string messageEnding, List<BodyEdit> edits, List<string> notes, out bool becameQuotedPrintable)
    {
        becameQuotedPrintable = false;
        string what = $"{part.ContentType.MediaType} part at byte {part.ContentStart}";
        string? charset = part.ContentType.Charset;
        Encoding? encoding = Charsets.Get(charset);
        if (encoding is null || !Charsets.IsAsciiCompatible(encoding))
        {
            notes.Add($"{what}: charset '{charset}' is {(encoding is null ? "unknown" : "not ASCII-compatible")}; left unchanged");
            return false;
        }

        if (!isMessage && !HasClosedHeaderBlock(body, part))
        {
            // Its content (if any) starts at a line that is not a field: what is inserted or re-encoded there could be
            // read as header fields of the part, or join its last field.
            notes.Add($"{what}: no empty line ends its header block; left unchanged");
            return false;
        }

        ReadOnlySpan<byte> raw = body[part.ContentStart..part.ContentEnd];
        string rawEnding = raw.IndexOf((byte)'\n') >= 0 ? Lines.DetectEnding(raw) : messageEnding;
        bool rawEndsWithLine = raw.Length > 0 && raw[^1] == '\n';
        bool html = part.ContentType.Subtype == "html";
        string cte = part.TransferEncoding;
        byte[] decoded;
        bool identity = cte is "7bit" or "8bit" or "binary" or "";
        if (identity)
        {
            decoded = [];
        }
        else if (cte == "quoted-printable")
        {
            decoded = QuotedPrintable.Decode(raw);
        }
        else if (cte == "base64")
        {
            if (!Base64Lines.TryDecode(raw, out decoded))
            {
                notes.Add($"{what}: the base64 content is invalid; left unchanged");
                return false;
            }
        }
        else
        {
            notes.Add($"{what}: unknown Content-Transfer-Encoding '{cte}'; left unchanged");
            return false;
        }

        ReadOnlySpan<byte> text = identity ? raw : decoded;
        if (text.IndexOf("-----BEGIN PGP "u8) >= 0)
        {
            notes.Add($"{what}: inline PGP; left unchanged");
            return false;
        }

        string ending = identity ? rawEnding : (text.IndexOf((byte)'\n') >= 0 ? Lines.DetectEnding(text) : "\r\n");
        int position;
        byte[]? insert;
        if (html)
        {
            position = HtmlInsertPosition(text);
            insert = Charsets.EncodeHtml(encoding, ending + _html.Replace("\n", ending, StringComparison.Ordinal) + ending);
        }
        else
        {
            position = text.Length;
            insert = Charsets.TryEncode(encoding, PlainSuffix(text, ending));
            if (insert is null)
            {
                notes.Add($"{what}: charset '{charset ?? "us-ascii"}' cannot represent the disclaimer; left unchanged");
                return false;
            }
        }

        bool needsQuotedPrintable = identity && cte is "7bit" or "" && insert.AsSpan().IndexOfAnyExceptInRange((byte)0, (byte)127) >= 0;
        if (identity && !needsQuotedPrintable)
        {
            edits.Add(new BodyEdit(part.ContentStart + position, part.ContentStart + position, insert));
            return true;
        }

        byte[] changed = Splice(text, position, insert);
        byte[] encoded = cte == "base64" ? Base64Lines.Encode(changed, rawEnding) : QuotedPrintable.Encode(changed, rawEnding);
        if (!rawEndsWithLine)
        {
            // The line ending before the next boundary belongs to the boundary: do not add one of our own.
            encoded = TrimEnding(encoded);
        }

        if (needsQuotedPrintable)
        {
            if (isMessage)
            {
                becameQuotedPrintable = true;
            }
            else
            {
                ChangeEncodingHeader(part, rawEnding, edits);
            }
        }

        edits.Add(new BodyEdit(part.ContentStart, part.ContentEnd, encoded));
        return true;
    }

    /// <summary>
    /// The bytes to append to plain text: an empty line, then the disclaimer; the text keeps ending with a line break
    /// if it had one.
    /// </summary>
    private string PlainSuffix(ReadOnlySpan<byte> text, string ending)
    {
        string disclaimer = _text.Replace("\n", ending, StringComparison.Ordinal);
        if (text.IsEmpty)
        {
            return disclaimer + ending;
        }

        return text[^1] == '\n' ? ending + disclaimer + ending : ending + ending + disclaimer;
    }

    /// <summary>Before the last &lt;/body&gt;, else before the last &lt;/html&gt;, else at the end.</summary>
    private static int HtmlInsertPosition(ReadOnlySpan<byte> html)
    {
        int body = LastIndexOfIgnoreCase(html, "</body"u8);
        if (body >= 0)
        {
            return body;
        }

        int end = LastIndexOfIgnoreCase(html, "</html"u8);
        return end >= 0 ? end : html.Length;
    }

    private static int LastIndexOfIgnoreCase(ReadOnlySpan<byte> data, ReadOnlySpan<byte> lowerAscii)
    {
        for (int i = data.Length - lowerAscii.Length; i >= 0; i--)
        {
            if (data[i] == '<' && Ascii.EqualsIgnoreCase(data.Slice(i, lowerAscii.Length), lowerAscii))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Replaces the part's Content-Transfer-Encoding field, or adds one at the top of its header block (which ends
    /// with an empty line: parts without one are left alone, so the new field cannot swallow content).
    /// </summary>
    private static void ChangeEncodingHeader(MimeEntity part, string ending, List<BodyEdit> edits)
    {
        byte[] field = Encoding.ASCII.GetBytes("Content-Transfer-Encoding: quoted-printable" + ending);
        MimeHeaderField? existing = part.Find("Content-Transfer-Encoding");
        edits.Add(existing is MimeHeaderField f ? new BodyEdit(f.Start, f.End, field) : new BodyEdit(part.HeaderStart, part.HeaderStart, field));
    }

    /// <summary>True when the part's header block (possibly without fields) ends with an empty line.</summary>
    private static bool HasClosedHeaderBlock(ReadOnlySpan<byte> body, MimeEntity part)
    {
        ReadOnlySpan<byte> block = body[part.HeaderStart..part.ContentStart];
        return block.EndsWith("\n\n"u8) || block.EndsWith("\n\r\n"u8) || block.SequenceEqual("\r\n"u8) || block.SequenceEqual("\n"u8);
    }

    private static byte[] Splice(ReadOnlySpan<byte> text, int position, byte[] insert)
    {
        byte[] result = new byte[text.Length + insert.Length];
        text[..position].CopyTo(result);
        insert.CopyTo(result, position);
        text[position..].CopyTo(result.AsSpan(position + insert.Length));
        return result;
    }

    private static byte[] TrimEnding(byte[] encoded)
    {
        int n = encoded.Length;
        if (n > 0 && encoded[n - 1] == '\n')
        {
            n--;
            if (n > 0 && encoded[n - 1] == '\r')
            {
                n--;
            }
        }

        return n == encoded.Length ? encoded : encoded.AsSpan(0, n).ToArray();
    }

    private sealed class Walk
    {
        public List<MimeEntity> Targets { get; } = [];

        public bool Signed { get; set; }

        public string? Malformed { get; set; }
    }
}
