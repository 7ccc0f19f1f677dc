namespace AotMilter.Filters.Mime;

/// <summary>
/// Finds the MIME structure of a message body: parts as offsets, nothing copied or decoded. Delimiter lines are
/// matched as RFC 2046 says (at the start of a line, "--" + boundary, optional "--", then only white space), so a
/// boundary that is a prefix of an inner one is not confused with it. Lines may end in CRLF or a bare LF. Nesting
/// deeper than <see cref="MaxDepth"/> is not followed (the deep part is kept as an opaque leaf).
/// <para>
/// One pass over the body: only lines that start with "--" are looked at (found with a vectorised search), each
/// matched against the boundaries of the multiparts open at that point, so nesting does not multiply the work. The
/// parse stops at the first of <see cref="MimeLimits"/> the message goes beyond; what was read before is kept
/// (every part before that point is complete), and the caller is told which limit stopped it.
/// </para>
/// </summary>
public static class MimeParser
{
    public const int MaxDepth = 24;

    /// <summary>
    /// Parses a message whose header fields (<paramref name="headers"/>, name and value) came separately from its
    /// body, within <see cref="MimeLimits.Default"/>; use the other overload to learn whether the parse stopped early.
    /// </summary>
    public static MimeEntity Parse(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers)
        => Parse(body, headers, MimeLimits.Default, out _);

    /// <summary>Parses within <paramref name="limits"/>; <paramref name="exceeded"/> names the limit that stopped the parse, if any.</summary>
    public static MimeEntity Parse(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, MimeLimits limits, out MimeLimit exceeded)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var fields = new List<MimeHeaderField>(headers.Count);
        foreach (KeyValuePair<string, string> h in headers)
        {
            // Offsets are meaningless for the message's own fields: they are not in the body.
            fields.Add(new MimeHeaderField(h.Key, Unfold(h.Value), -1, -1));
        }

        MimeEntity message = CreateEntity(fields, 0, 0, body.Length, 0, ContentType.Default);
        exceeded = ReadParts(body, message, limits);
        return message;
    }

    /// <summary>Parses a whole message (header block and body in one buffer), as a test or a tool has it.</summary>
    public static MimeEntity ParseMessage(ReadOnlySpan<byte> message) => ParseMessage(message, MimeLimits.Default, out _);

    /// <summary>Parses a whole message within <paramref name="limits"/> (its own header block counts as a part's).</summary>
    public static MimeEntity ParseMessage(ReadOnlySpan<byte> message, MimeLimits limits, out MimeLimit exceeded)
    {
        var fields = new List<MimeHeaderField>();
        int contentStart = HeaderBlock.Read(message, 0, message.Length, fields, limits, out exceeded);
        MimeEntity entity = CreateEntity(fields, 0, contentStart, message.Length, 0, ContentType.Default);
        if (exceeded == MimeLimit.None)
        {
            exceeded = ReadParts(message, entity, limits);
        }

        return entity;
    }

    private static MimeLimit ReadParts(ReadOnlySpan<byte> data, MimeEntity message, MimeLimits limits)
    {
        var open = new OpenMultiparts();
        OpenIfMultipart(open, message);
        int end = message.ContentEnd;
        int parts = 0;
        int pos = message.ContentStart;
        while (open.Count > 0 && pos < end)
        {
            // pos is at the start of a line; go to the next line that starts with "--".
            if (!data[pos..end].StartsWith("--"u8))
            {
                int found = data[pos..end].IndexOf("\n--"u8);
                if (found < 0)
                {
                    break;
                }

                pos += found + 1;
            }

            Lines.Next(data, pos, end, out int lineEnd, out int next);
            if (!open.Match(data[pos..lineEnd], out int level, out bool close))
            {
                pos = next;
                continue;
            }

            OpenMultiparts.Level multipart = open[level];
            multipart.Multipart.HasDelimiters = true;
            if (multipart.Part is MimeEntity part)
            {
                // The part ends here, and with it every multipart opened inside it.
                int partEnd = PartEnd(data, part.HeaderStart, pos);
                for (int inner = open.Count - 1; inner >= level; inner--)
                {
                    open[inner].Part?.EndAt(partEnd);
                }

                open.Truncate(level + 1);
            }

            if (close)
            {
                multipart.Multipart.Closed = true;
                multipart.Part = null;
                open.Truncate(level);
                pos = next;
                continue;
            }

            if (++parts > limits.MaxParts)
            {
                multipart.Part = null;
                return MimeLimit.Parts;
            }

            var fields = new List<MimeHeaderField>();
            int contentStart = HeaderBlock.Read(data, next, end, fields, limits, open, out MimeLimit exceeded);
            if (exceeded != MimeLimit.None)
            {
                multipart.Part = null;
                return exceeded;
            }

            MimeEntity child = CreateEntity(fields, next, contentStart, end, multipart.Multipart.Depth + 1, multipart.ChildDefault);
            multipart.Multipart.Children.Add(child);
            multipart.Part = child;
            OpenIfMultipart(open, child);
            pos = contentStart;
        }

        // No closing delimiter: the last part of each open multipart runs to the end (the caller decides whether to
        // trust that); it was created running there.
        return MimeLimit.None;
    }

    private static void OpenIfMultipart(OpenMultiparts open, MimeEntity entity)
    {
        string? boundary = entity.ContentType.Boundary;
        if (entity.ContentType.IsMultipart && !string.IsNullOrEmpty(boundary) && entity.Depth < MaxDepth)
        {
            open.Push(entity, boundary, entity.ContentType.Subtype == "digest" ? ContentType.DigestDefault : ContentType.Default);
        }
    }

    private static MimeEntity CreateEntity(List<MimeHeaderField> fields, int headerStart, int contentStart, int contentEnd, int depth, ContentType fallbackType)
    {
        string? typeValue = null, encodingValue = null, dispositionValue = null;
        foreach (MimeHeaderField f in fields)
        {
            if (typeValue is null && f.NameIs("Content-Type"))
            {
                typeValue = f.Value;
            }
            else if (encodingValue is null && f.NameIs("Content-Transfer-Encoding"))
            {
                encodingValue = f.Value;
            }
            else if (dispositionValue is null && f.NameIs("Content-Disposition"))
            {
                dispositionValue = f.Value;
            }
        }

        ContentType type = typeValue is null ? fallbackType : ContentType.Parse(typeValue);
        (string disposition, string? fileName) = ContentType.ParseDisposition(dispositionValue);
        return new MimeEntity
        {
            Headers = fields,
            ContentType = type,
            TransferEncoding = (encodingValue ?? "7bit").Trim().ToLowerInvariant(),
            Disposition = disposition,
            FileName = fileName ?? type["name"],
            HeaderStart = headerStart,
            ContentStart = contentStart,
            ContentEnd = contentEnd,
            Depth = depth,
        };
    }

    /// <summary>The line ending before a delimiter belongs to the delimiter, not to the part's content.</summary>
    private static int PartEnd(ReadOnlySpan<byte> data, int partStart, int delimiterLine)
    {
        int partEnd = delimiterLine;
        if (partEnd > partStart && data[partEnd - 1] == '\n')
        {
            partEnd--;
            if (partEnd > partStart && data[partEnd - 1] == '\r')
            {
                partEnd--;
            }
        }

        return partEnd;
    }

    private static string Unfold(string value) => value.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\t', ' ').Trim();
}
