using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>
/// Decodes RFC 2047 encoded words in header values (<c>=?UTF-8?B?...?=</c>, <c>=?iso-8859-1?Q?...?=</c>), so content
/// rules see the text a reader sees. White space between two encoded words is dropped, as the RFC says; a word
/// that cannot be decoded (unknown charset, bad base64) is kept as written.
/// </summary>
public static class EncodedWords
{
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
        while (pos < value.Length)
        {
            int start = value.IndexOf("=?", pos, StringComparison.Ordinal);
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
        int q1 = value.IndexOf('?', start + 2);
        int q2 = q1 < 0 ? -1 : value.IndexOf('?', q1 + 1);
        int close = q2 < 0 ? -1 : value.IndexOf("?=", q2 + 1, StringComparison.Ordinal);
        if (close < 0 || q2 != q1 + 2)
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
