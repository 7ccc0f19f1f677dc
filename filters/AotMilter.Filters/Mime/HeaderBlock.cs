using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>Reads the header block at the start of a MIME part.</summary>
public static class HeaderBlock
{
    /// <summary>
    /// Reads fields from <paramref name="start"/> up to the empty line that ends the header block; returns where the
    /// part's content starts (after that empty line). A line that is neither a field nor a continuation also ends the
    /// block and starts the content, as lenient readers do (some senders omit the empty line); a part without an empty
    /// line has no content.
    /// </summary>
    public static int Read(ReadOnlySpan<byte> data, int start, int limit, List<MimeHeaderField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
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
            if (colon <= 0 || !IsFieldName(line[..colon].TrimEnd((byte)' ')))
            {
                // Not a field: the content starts here.
                return pos;
            }

            var value = new StringBuilder();
            value.Append(Encoding.Latin1.GetString(line[(colon + 1)..]));
            int fieldStart = pos;
            pos = next;

            // Continuation lines start with white space.
            while (pos < limit && data[pos] is (byte)' ' or (byte)'\t')
            {
                Lines.Next(data, pos, limit, out lineEnd, out next);
                value.Append(' ').Append(Encoding.Latin1.GetString(data[pos..lineEnd]).Trim());
                pos = next;
            }

            fields.Add(new MimeHeaderField(Encoding.Latin1.GetString(line[..colon]).Trim(), value.ToString().Trim(), fieldStart, pos));
        }

        return limit;
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
