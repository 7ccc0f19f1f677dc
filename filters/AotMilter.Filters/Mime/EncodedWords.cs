using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>
/// Decodes RFC 2047 encoded words in header values (<c>=?UTF-8?B?...?=</c>, <c>=?iso-8859-1?Q?...?=</c>), so content
/// rules see the text a reader sees. White space between two encoded words is dropped, as the RFC says; a word
/// that cannot be decoded (unknown charset, bad base64) is kept as written.
/// </summary>
public static class EncodedWords
{
    // RFC 2047 allows 75 characters per word; senders exceed it, so a little more is accepted. Bounding the search
    // for a word's end keeps decoding linear: a value full of "=?" with no "?=" after them cost a scan to the end of
    // the value per "=?" (1 MiB took 6 s of an I/O thread).
    private const int MaxWordLength = 256;

    /// <summary>Words are decoded in the first this many characters of a value; the rest is kept as written.</summary>
    public const int MaxDecodedLength = 64 * 1024;

    public static string Decode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Contains("=?", StringComparison.Ordinal))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        int pos = 0;
        int lastWordEnd = -1;
        int decodable = Math.Min(value.Length, MaxDecodedLength);
        while (pos < value.Length)
        {
            int start = pos < decodable ? value.IndexOf("=?", pos, decodable - pos, StringComparison.Ordinal) : -1;
            if (start < 0)
            {
                text.Append(value, pos, value.Length - pos);
                break;
            }

            if (TryDecodeWord(value, start, out int end, out string? decoded))
            {
                string between = value[pos..start];
                if (!(lastWordEnd == pos && string.IsNullOrWhiteSpace(between)))
                {
                    text.Append(between);
                }

                text.Append(decoded);
                pos = end;
                lastWordEnd = end;
            }
            else
            {
                text.Append(value, pos, start + 2 - pos);
                pos = start + 2;
            }
        }

        return text.ToString();
    }

    private static bool TryDecodeWord(string value, int start, out int end, out string? decoded)
    {
        end = 0;
        decoded = null;
        int limit = Math.Min(value.Length, start + MaxWordLength);
        int q1 = value.IndexOf('?', start + 2, limit - (start + 2));
        int q2 = q1 < 0 || q1 + 1 >= limit ? -1 : value.IndexOf('?', q1 + 1, limit - (q1 + 1));
        if (q2 < 0 || q2 != q1 + 2 || q2 + 1 >= limit)
        {
            return false;
        }

        int close = value.IndexOf("?=", q2 + 1, limit - (q2 + 1), StringComparison.Ordinal);
        if (close < 0)
        {
            return false;
        }

        string charset = value[(start + 2)..q1];
        int star = charset.IndexOf('*', StringComparison.Ordinal);
        if (star >= 0)
        {
            charset = charset[..star];
        }

        Encoding? encoding = Charsets.Get(charset);
        if (encoding is null)
        {
            return false;
        }

        char kind = char.ToUpperInvariant(value[q1 + 1]);
        string payload = value[(q2 + 1)..close];
        byte[] bytes;
        if (kind == 'B')
        {
            if (!Base64Lines.TryDecode(Encoding.ASCII.GetBytes(payload), out bytes))
            {
                return false;
            }
        }
        else if (kind == 'Q')
        {
            bytes = QuotedPrintable.Decode(Encoding.Latin1.GetBytes(payload.Replace('_', ' ')));
        }
        else
        {
            return false;
        }

        decoded = encoding.GetString(bytes);
        end = close + 2;
        return true;
    }
}
