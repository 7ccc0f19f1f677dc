namespace AotMilter.Filters.Mime;

/// <summary>
/// Finds the MIME structure of a message body: parts as offsets, nothing copied or decoded. Delimiter lines are
/// matched as RFC 2046 says (at the start of a line, "--" + boundary, optional "--", then only white space), so a
/// boundary that is a prefix of an inner one is not confused with it. Lines may end in CRLF or a bare LF. Nesting
/// deeper than <see cref="MaxDepth"/> is not followed (the deep part is kept as an opaque leaf).
/// </summary>
public static class MimeParser
{
    public const int MaxDepth = 24;

    /// <summary>Parses a message whose header fields (<paramref name="headers"/>, name and value) came separately from its body.</summary>
    public static MimeEntity Parse(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var fields = new List<MimeHeaderField>(headers.Count);
        foreach (KeyValuePair<string, string> h in headers)
        {
            // Offsets are meaningless for the message's own fields: they are not in the body.
            fields.Add(new MimeHeaderField(h.Key, Unfold(h.Value), -1, -1));
        }

        return Build(body, fields, 0, 0, body.Length, 0, ContentType.Default);
    }

    /// <summary>Parses a whole message (header block and body in one buffer), as a test or a tool has it.</summary>
    public static MimeEntity ParseMessage(ReadOnlySpan<byte> message)
    {
        var fields = new List<MimeHeaderField>();
        int contentStart = HeaderBlock.Read(message, 0, message.Length, fields);
        return Build(message, fields, 0, contentStart, message.Length, 0, ContentType.Default);
    }

    private static MimeEntity Build(ReadOnlySpan<byte> data, List<MimeHeaderField> fields, int headerStart, int contentStart, int contentEnd, int depth, ContentType fallbackType)
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
        var entity = new MimeEntity
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

        string? boundary = type.Boundary;
        if (type.IsMultipart && !string.IsNullOrEmpty(boundary) && depth < MaxDepth)
        {
            SplitParts(data, entity, boundary, depth, type.Subtype == "digest" ? ContentType.DigestDefault : ContentType.Default);
        }

        return entity;
    }

    private static void SplitParts(ReadOnlySpan<byte> data, MimeEntity multipart, string boundary, int depth, ContentType childDefault)
    {
        byte[] delimiter = System.Text.Encoding.Latin1.GetBytes("--" + boundary);
        int pos = multipart.ContentStart;
        int end = multipart.ContentEnd;
        int partStart = -1;
        while (pos < end)
        {
            Lines.Next(data, pos, end, out int lineEnd, out int next);
            if (IsDelimiter(data[pos..lineEnd], delimiter, out bool close))
            {
                multipart.HasDelimiters = true;
                if (partStart >= 0)
                {
                    AddPart(data, multipart, partStart, PartEnd(data, partStart, pos), depth, childDefault);
                }

                if (close)
                {
                    multipart.Closed = true;
                    return;
                }

                partStart = next;
            }

            pos = next;
        }

        // No closing delimiter: the last part runs to the end (the caller decides whether to trust that).
        if (partStart >= 0 && partStart <= end)
        {
            AddPart(data, multipart, partStart, end, depth, childDefault);
        }
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

    private static void AddPart(ReadOnlySpan<byte> data, MimeEntity multipart, int start, int end, int depth, ContentType childDefault)
    {
        var fields = new List<MimeHeaderField>();
        int contentStart = HeaderBlock.Read(data, start, end, fields);
        multipart.Children.Add(Build(data, fields, start, contentStart, end, depth + 1, childDefault));
    }

    private static bool IsDelimiter(ReadOnlySpan<byte> line, ReadOnlySpan<byte> delimiter, out bool close)
    {
        close = false;
        if (!line.StartsWith(delimiter))
        {
            return false;
        }

        ReadOnlySpan<byte> rest = line[delimiter.Length..];
        if (rest.StartsWith("--"u8))
        {
            close = true;
            rest = rest[2..];
        }

        return Lines.IsBlank(rest);
    }

    private static string Unfold(string value) => value.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\t', ' ').Trim();
}
