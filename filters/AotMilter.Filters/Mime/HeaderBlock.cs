using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>Reads the header block at the start of a MIME part.</summary>
public static class HeaderBlock
{
    /// <summary>The fields a MIME reader gives meaning to in a part; only their first occurrences are kept.</summary>
    private static readonly string[] Kept = ["Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID"];

    /// <summary>
    /// Reads fields from <paramref name="start"/> up to the empty line that ends the header block; returns where the
    /// part's content starts (after that empty line). A line that is neither a field nor a continuation also ends the
    /// block and starts the content, as lenient readers do (some senders omit the empty line); so does a delimiter
    /// line of <paramref name="open"/>; a part without an empty line has no content.
    /// <para>
    /// Only the first Content-Type, Content-Transfer-Encoding, Content-Disposition and Content-ID go into
    /// <paramref name="fields"/>: the others are counted and measured against <paramref name="limits"/>, never turned
    /// into strings, so a part with thousands of fields costs no more memory than one with four. Beyond a limit the
    /// reading stops and <paramref name="exceeded"/> says which.
    /// </para>
    /// </summary>
    public static int Read(ReadOnlySpan<byte> data, int start, int limit, List<MimeHeaderField> fields, MimeLimits limits, out MimeLimit exceeded)
        => Read(data, start, limit, fields, limits, null, out exceeded);

    internal static int Read(ReadOnlySpan<byte> data, int start, int limit, List<MimeHeaderField> fields, MimeLimits limits, OpenMultiparts? open, out MimeLimit exceeded)
    {
        ArgumentNullException.ThrowIfNull(fields);
        exceeded = MimeLimit.None;
        int count = 0;
        int pos = start;
        while (pos < limit)
        {
            Lines.Next(data, pos, limit, out int lineEnd, out int next);
            ReadOnlySpan<byte> line = data[pos..lineEnd];
            if (line.IsEmpty)
            {
                return next;
            }

            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsFieldName(line[..colon].TrimEnd((byte)' ')) || (open is not null && open.Match(line, out _, out _)))
            {
                // Not a field: the content starts here.
                return pos;
            }

            int fieldStart = pos;
            pos = next;

            // Continuation lines start with white space; measured as they come, so a field folded over megabytes
            // is not read to its end.
            while (pos < limit && data[pos] is (byte)' ' or (byte)'\t' && pos - start <= limits.MaxHeaderBytes)
            {
                Lines.Next(data, pos, limit, out _, out pos);
            }

            if (pos - start > limits.MaxHeaderBytes)
            {
                exceeded = MimeLimit.HeaderBytes;
                return fieldStart;
            }

            if (++count > limits.MaxHeaderFields)
            {
                exceeded = MimeLimit.HeaderFields;
                return fieldStart;
            }

            if (KeptName(line[..colon].TrimEnd((byte)' ')) is string name && !Contains(fields, name))
            {
                fields.Add(new MimeHeaderField(Encoding.Latin1.GetString(line[..colon]).Trim(), Unfold(data, fieldStart + colon + 1, pos), fieldStart, pos));
            }
        }

        return limit;
    }

    /// <summary>The value from <paramref name="from"/> to <paramref name="end"/>: its lines trimmed and joined by one space.</summary>
    private static string Unfold(ReadOnlySpan<byte> data, int from, int end)
    {
        var value = new StringBuilder();
        int pos = from;
        bool first = true;
        while (pos < end)
        {
            Lines.Next(data, pos, end, out int lineEnd, out int next);
            string text = Encoding.Latin1.GetString(data[pos..lineEnd]);
            if (first)
            {
                value.Append(text);
                first = false;
            }
            else
            {
                value.Append(' ').Append(text.Trim());
            }

            pos = next;
        }

        return value.ToString().Trim();
    }

    private static string? KeptName(ReadOnlySpan<byte> name)
    {
        foreach (string kept in Kept)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(name, kept))
            {
                return kept;
            }
        }

        return null;
    }

    private static bool Contains(List<MimeHeaderField> fields, string name)
    {
        foreach (MimeHeaderField field in fields)
        {
            if (field.NameIs(name))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (byte b in name)
        {
            if (b <= 32 || b >= 127)
            {
                return false;
            }
        }

        return true;
    }
}
