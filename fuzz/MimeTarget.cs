using System.Text;
using AotMilter.Filters.Disclaimer;
using AotMilter.Filters.Mime;

namespace AotMilter.Fuzz;

/// <summary>
/// The <c>mime</c> target: a raw message (header block and body). Its header fields are handed over as the MTA hands
/// them to the disclaimer filter (name and value as sent, folding kept), the body is parsed and rewritten with a fixed
/// disclaimer. Checked: an added disclaimer gives a body that parses to the same MIME tree (types, parts, closed
/// multiparts); anything else leaves the body alone.
/// </summary>
internal static class MimeTarget
{
    // Plain text in ASCII (every charset takes it); the HTML has a character that us-ascii and 7bit parts cannot
    // carry, so the character-reference and 7bit-to-quoted-printable paths run as well.
    private static readonly DisclaimerRewriter Rewriter = new("--\nThis message is confidential.", "<p>Vertraulich &amp; geschützt.</p>");

    public static void Run(ReadOnlySpan<byte> message)
    {
        var fields = new List<MimeHeaderField>();
        int bodyStart = HeaderBlock.Read(message, 0, message.Length, fields, MimeLimits.Default, out _);
        var headers = new List<KeyValuePair<string, string>>(fields.Count);
        foreach (MimeHeaderField field in fields)
        {
            headers.Add(new(field.Name, AsSent(message[field.Start..field.End])));
        }

        ReadOnlySpan<byte> body = message[bodyStart..];
        MimeEntity before = MimeParser.Parse(body, headers);
        DisclaimerResult result = Rewriter.Rewrite(body, headers);
        if (result.Outcome != DisclaimerOutcome.Added)
        {
            Check(result.NewBodyArray(body) is null, $"outcome {result.Outcome} came with a new body");
            return;
        }

        if (result.NewBodyArray(body) is not byte[] rewritten || result.PartsChanged <= 0)
        {
            throw new InvalidOperationException("disclaimer rewrite: a disclaimer was added but there is no new body");
        }

        if (result.MessageTransferEncoding is { } encoding)
        {
            headers.RemoveAll(h => h.Key.Equals("Content-Transfer-Encoding", StringComparison.OrdinalIgnoreCase));
            headers.Add(new("Content-Transfer-Encoding", encoding));
        }

        SameTree(before, MimeParser.Parse(rewritten, headers), "message");
    }

    /// <summary>A field's value as the MTA sends it: after the colon, folding kept, without the final line break.</summary>
    private static string AsSent(ReadOnlySpan<byte> field)
    {
        int colon = field.IndexOf((byte)':');
        ReadOnlySpan<byte> value = field[(colon + 1)..];
        value = value.EndsWith("\r\n"u8) ? value[..^2] : value.EndsWith("\n"u8) ? value[..^1] : value;
        return Encoding.Latin1.GetString(value.TrimStart((byte)' '));
    }

    private static void SameTree(MimeEntity a, MimeEntity b, string path)
    {
        Check(a.ContentType.MediaType == b.ContentType.MediaType, $"{path}: {a.ContentType.MediaType} became {b.ContentType.MediaType}");
        Check(a.Children.Count == b.Children.Count, $"{path}: {a.Children.Count} parts became {b.Children.Count}");
        Check(a.Closed == b.Closed && a.HasDelimiters == b.HasDelimiters, $"{path}: the boundaries changed");
        for (int i = 0; i < a.Children.Count; i++)
        {
            SameTree(a.Children[i], b.Children[i], $"{path}/{i + 1}");
        }
    }

    private static void Check(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException("disclaimer rewrite: " + problem);
        }
    }
}
