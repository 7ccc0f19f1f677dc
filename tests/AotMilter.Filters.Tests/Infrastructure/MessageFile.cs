using System.Text;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>Splits a message file into header fields (as an MTA passes them: value without the space after the colon,
/// folded with LF) and the body with CRLF line ends (as an MTA passes it).</summary>
internal static class MessageFile
{
    public static (List<KeyValuePair<string, string>> Headers, byte[] Body) Split(byte[] message)
    {
        byte[] crlf = ToCrlf(message);
        int end = IndexOf(crlf, "\r\n\r\n"u8);
        string head = Encoding.UTF8.GetString(crlf, 0, end < 0 ? crlf.Length : end);
        byte[] body = end < 0 ? [] : crlf[(end + 4)..];
        var headers = new List<KeyValuePair<string, string>>();
        foreach (string line in head.Split("\r\n"))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if ((line[0] == ' ' || line[0] == '\t') && headers.Count > 0)
            {
                KeyValuePair<string, string> last = headers[^1];
                headers[^1] = new(last.Key, last.Value + "\n" + line);
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                // "From " mbox lines and other junk an MTA would not pass as a header.
                continue;
            }

            string value = line[(colon + 1)..];
            headers.Add(new(line[..colon].TrimEnd(), value.StartsWith(' ') ? value[1..] : value));
        }

        return (headers, body);
    }

    /// <summary>Bare LF becomes CRLF, as both MTAs deliver the body to a milter.</summary>
    public static byte[] ToCrlf(byte[] data)
    {
        var output = new List<byte>(data.Length + 256);
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            {
                output.Add((byte)'\r');
            }

            output.Add(data[i]);
        }

        return output.ToArray();
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> what) => data.AsSpan().IndexOf(what);
}
