using System.Globalization;
using System.Text;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// The head of a line-based reply (spamd's <c>SPAMD/1.1 0 EX_OK</c>, HTTP's <c>HTTP/1.1 200 OK</c>): the status line
/// and the header lines up to the blank line, then a body of <c>Content-length</c> bytes. Both are read from a
/// <see cref="ScannerConnection"/> within a limit on their size.
/// </summary>
public sealed class ReplyHead
{
    private ReplyHead(string status, List<KeyValuePair<string, string>> fields)
    {
        Status = status;
        Fields = fields;
    }

    /// <summary>The first line (<c>SPAMD/1.1 0 EX_OK</c>).</summary>
    public string Status { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The value of the first field called <paramref name="name"/> (any case), or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach ((string key, string value) in Fields)
            {
                if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return value;
                }
            }

            return null;
        }
    }

    /// <summary>Content-length as a number, or null when absent; a value that is not one is a protocol error.</summary>
    public int? ContentLength(int max)
    {
        string? text = this["Content-length"];
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > max)
        {
            throw new ScanException(ScanErrorKind.Protocol, $"the reply's Content-length '{LogText.Escape(text)}' is not a number up to {max}");
        }

        return length;
    }

    /// <summary>Reads the status line and fields (at most <paramref name="max"/> bytes, CRLF or LF line ends).</summary>
    public static async ValueTask<ReplyHead> ReadAsync(ScannerConnection connection, string scanner, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        int end;
        int blank;
        while (!FindBlankLine(connection.Buffered, out end, out blank))
        {
            if (!await connection.FillAsync(max, cancellationToken).ConfigureAwait(false))
            {
                throw new ScanException(ScanErrorKind.Closed, connection.Buffered.IsEmpty
                    ? $"{scanner} closed the connection without a reply"
                    : $"{scanner} closed the connection in the middle of its reply ('{LogText.Escape(connection.Buffered)}')");
            }
        }

        string head = Encoding.UTF8.GetString(connection.Buffered[..end]);
        connection.Consume(end + blank);
        string[] lines = head.Split('\n');
        var fields = new List<KeyValuePair<string, string>>(lines.Length);
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ScanException(ScanErrorKind.Protocol, $"{scanner}'s reply has a header line without a name: '{LogText.Escape(line)}'");
            }

            fields.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        return new ReplyHead(lines[0].TrimEnd('\r'), fields);
    }

    /// <summary>Reads a body of exactly <paramref name="length"/> bytes (the head said so); the bytes stay buffered until consumed.</summary>
    public static async ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync(ScannerConnection connection, string scanner, int length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        while (connection.Buffered.Length < length)
        {
            if (!await connection.FillAsync(length, cancellationToken).ConfigureAwait(false))
            {
                throw new ScanException(ScanErrorKind.Closed, $"{scanner} closed the connection after {connection.Buffered.Length} of the {length} bytes its reply announced");
            }
        }

        return connection.BufferedMemory[..length];
    }

    private static bool FindBlankLine(ReadOnlySpan<byte> buffered, out int end, out int blank)
    {
        int crlf = buffered.IndexOf("\r\n\r\n"u8);
        int lf = buffered.IndexOf("\n\n"u8);
        if (crlf >= 0 && (lf < 0 || crlf <= lf))
        {
            (end, blank) = (crlf, 4);
            return true;
        }

        (end, blank) = (lf, 2);
        return lf >= 0;
    }
}
