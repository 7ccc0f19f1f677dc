using System.Globalization;
using System.Text;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.SpamAssassin;

/// <summary>
/// spamd's answer to <c>HEADERS</c>: whether the message is spam, its score and the threshold (from the
/// <c>Spam: True ; 1002.7 / 5.0</c> field), and the header block SpamAssassin would give the message, from which the
/// filter takes the <c>X-Spam-*</c> fields and the Subject, as spamass-milter does.
/// </summary>
public sealed record SpamdResult(bool IsSpam, double Score, double Threshold, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>Reads the <c>Spam</c> field of the reply head and the header block of its body.</summary>
    public static SpamdResult Parse(ReplyHead head, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(head);
        string? spam = head["Spam"];
        string[] parts = spam?.Split([';', '/'], StringSplitOptions.TrimEntries) ?? [];
        if (parts.Length != 3 || !bool.TryParse(parts[0], out bool isSpam)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double score)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double threshold))
        {
            throw new ScanException(ScanErrorKind.Protocol, $"spamd's reply has no 'Spam: True|False ; SCORE / THRESHOLD' field (it has '{LogText.Escape(spam ?? "")}')");
        }

        return new SpamdResult(isSpam, score, threshold, HeaderBlock(body));
    }

    /// <summary>The fields of a header block, continuation lines joined with "\n" (as they go to the MTA).</summary>
    public static List<KeyValuePair<string, string>> HeaderBlock(ReadOnlySpan<byte> block)
    {
        var fields = new List<KeyValuePair<string, string>>();
        foreach (string raw in Encoding.UTF8.GetString(block).Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                break;
            }

            if (line[0] is ' ' or '\t' && fields.Count > 0)
            {
                KeyValuePair<string, string> last = fields[^1];
                fields[^1] = new(last.Key, last.Value + "\n" + line);
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields.Add(new(line[..colon], line[(colon + 1)..].TrimStart(' ')));
            }
        }

        return fields;
    }
}
