namespace AotMilter.Filters.Mime;

/// <summary>Line scanning over bytes that may end lines with CRLF or a bare LF (both occur in real mail).</summary>
internal static class Lines
{
    /// <summary>
    /// The line that starts at <paramref name="start"/>: its end without the line ending, and where the next line
    /// starts (<paramref name="limit"/> when the last line has no line ending).
    /// </summary>
    public static void Next(ReadOnlySpan<byte> data, int start, int limit, out int contentEnd, out int next)
    {
        int lf = data[start..limit].IndexOf((byte)'\n');
        if (lf < 0)
        {
            contentEnd = limit;
            next = limit;
            return;
        }

        next = start + lf + 1;
        contentEnd = start + lf;
        if (contentEnd > start && data[contentEnd - 1] == '\r')
        {
            contentEnd--;
        }
    }

    /// <summary>"\r\n" when the text's first line ending is CRLF (or there is none), "\n" when it is a bare LF.</summary>
    public static string DetectEnding(ReadOnlySpan<byte> data)
    {
        int lf = data.IndexOf((byte)'\n');
        return lf > 0 && data[lf - 1] != '\r' ? "\n" : "\r\n";
    }

    public static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
        {
            if (b is not ((byte)' ' or (byte)'\t'))
            {
                return false;
            }
        }

        return true;
    }
}
