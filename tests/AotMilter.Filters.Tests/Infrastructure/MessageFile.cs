using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>
/// A message file read by the test kit's <see cref="Email"/> (the kit reads it as both MTAs do), in the shape the
/// filters take it: header fields as an MTA passes them to a milter that did not ask for the leading space (the one
/// space after the colon dropped, LF between folded lines), and the body.
/// </summary>
internal static class MessageFile
{
    /// <summary>Header fields and the body with CRLF line ends, as an MTA passes the body to a milter.</summary>
    public static (List<KeyValuePair<string, string>> Headers, byte[] Body) Split(byte[] message)
    {
        Email email = Email.Parse(message);
        return (MilterHeaders(email), email.Body);
    }

    /// <summary>
    /// Header fields as <see cref="Split"/> gives them, and the body exactly as in the file (its own line endings):
    /// the rewrite must keep whatever line endings it is given.
    /// </summary>
    public static (List<KeyValuePair<string, string>> Headers, byte[] Body) SplitKeepingEndings(byte[] message)
    {
        Email email = Email.Parse(message);
        int headerLines = (email.MboxFromLine is null ? 0 : 1) + email.Headers.Sum(h => h.Raw.AsSpan().Count("\r\n"u8) + 1);
        int start = 0;
        for (int i = 0; i < headerLines; i++)
        {
            start = NextLine(message, start);
        }

        // The kit's parser takes an empty line after the fields as the end of the header section; any other line
        // there already belongs to the body.
        if (start < message.Length && (message[start] == (byte)'\n' || message.AsSpan(start).StartsWith("\r\n"u8)))
        {
            start = NextLine(message, start);
        }

        return (MilterHeaders(email), message[start..]);
    }

    private static List<KeyValuePair<string, string>> MilterHeaders(Email email) =>
        [.. email.Headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value.StartsWith(' ') ? h.Value[1..] : h.Value))];

    private static int NextLine(byte[] message, int start)
    {
        int lf = message.AsSpan(start).IndexOf((byte)'\n');
        return lf < 0 ? message.Length : start + lf + 1;
    }
}
