namespace AotMilter.Filters.Mime;

/// <summary>
/// One MIME part (or the message itself) as offsets into the body buffer, so that a rewrite can copy every byte it
/// does not change. <see cref="HeaderStart"/>..<see cref="ContentStart"/> is the part's header block (empty for the
/// message, whose header fields come from the MTA one by one), <see cref="ContentStart"/>..<see cref="ContentEnd"/>
/// its content (for a multipart: preamble, parts, delimiters and epilogue).
/// </summary>
public sealed class MimeEntity
{
    /// <summary>
    /// The part's MIME fields: the first Content-Type, Content-Transfer-Encoding, Content-Disposition and Content-ID
    /// of its header block (the parser keeps no others); for the message itself, the fields it was given.
    /// </summary>
    public required IReadOnlyList<MimeHeaderField> Headers { get; init; }

    public required ContentType ContentType { get; init; }

    /// <summary>Lower case and trimmed: "7bit", "8bit", "binary", "quoted-printable", "base64", or what the sender wrote.</summary>
    public required string TransferEncoding { get; init; }

    /// <summary>"inline", "attachment" or "" (no Content-Disposition).</summary>
    public string Disposition { get; init; } = "";

    /// <summary>A file name from Content-Disposition or Content-Type's name parameter, or null.</summary>
    public string? FileName { get; init; }

    public int HeaderStart { get; internal set; }

    public int ContentStart { get; internal set; }

    public int ContentEnd { get; internal set; }

    public int Depth { get; init; }

    /// <summary>The parts of a multipart, in order; empty otherwise.</summary>
    public List<MimeEntity> Children { get; } = [];

    /// <summary>For a multipart: true when its closing delimiter (--boundary--) was found.</summary>
    public bool Closed { get; set; }

    /// <summary>For a multipart: true when at least one delimiter line was found.</summary>
    public bool HasDelimiters { get; set; }

    /// <summary>True when the part is meant as a file rather than as text to read (attachment, or has a file name).</summary>
    public bool IsAttachment => Disposition == "attachment" || FileName is not null;

    /// <summary>
    /// Ends the part at <paramref name="end"/>, where the next delimiter line's line ending starts. A header block
    /// that ran up to that delimiter (no empty line, no content) gives the line ending back to it, as a part's bytes
    /// never include the line ending before a delimiter.
    /// </summary>
    internal void EndAt(int end)
    {
        HeaderStart = Math.Min(HeaderStart, end);
        ContentStart = Math.Min(ContentStart, end);
        ContentEnd = end;
        if (Headers is List<MimeHeaderField> fields)
        {
            for (int i = 0; i < fields.Count; i++)
            {
                if (fields[i].End > end)
                {
                    fields[i] = fields[i] with { End = end };
                }
            }
        }
    }

    /// <summary>The header field named <paramref name="name"/>, or null.</summary>
    public MimeHeaderField? Find(string name)
    {
        foreach (MimeHeaderField field in Headers)
        {
            if (field.NameIs(name))
            {
                return field;
            }
        }

        return null;
    }

    public override string ToString() => Children.Count == 0
        ? $"{ContentType.MediaType} ({TransferEncoding}, {ContentEnd - ContentStart} bytes)"
        : $"{ContentType.MediaType} [{string.Join(", ", Children)}]";
}
