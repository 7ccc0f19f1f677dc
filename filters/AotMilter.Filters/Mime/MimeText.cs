using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>The readable text of a message: every text/* part decoded from its transfer encoding and charset.</summary>
public static class MimeText
{
    /// <summary>
    /// The text of each text part (all of them, attachments included: content rules look at everything a reader could
    /// open as text). A part whose encoding cannot be decoded is read as it stands.
    /// </summary>
    public static List<string> Extract(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers)
        => Extract(body, headers, MimeLimits.Default, out _);

    /// <summary>
    /// The text of each text part found within <paramref name="limits"/>; beyond one (<paramref name="exceeded"/>),
    /// the text of the parts before it.
    /// </summary>
    public static List<string> Extract(ReadOnlySpan<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, MimeLimits limits, out MimeLimit exceeded)
    {
        var texts = new List<string>();
        MimeEntity message = MimeParser.Parse(body, headers, limits, out exceeded);
        Collect(body, message, texts);
        return texts;
    }

    private static void Collect(ReadOnlySpan<byte> body, MimeEntity entity, List<string> texts)
    {
        if (entity.Children.Count > 0)
        {
            foreach (MimeEntity child in entity.Children)
            {
                Collect(body, child, texts);
            }

            return;
        }

        if (entity.ContentType.Type != "text" && !(entity.ContentType.IsMultipart && entity.Children.Count == 0))
        {
            return;
        }

        ReadOnlySpan<byte> raw = body[entity.ContentStart..entity.ContentEnd];
        byte[] decoded = entity.TransferEncoding switch
        {
            "quoted-printable" => QuotedPrintable.Decode(raw),
            "base64" => Base64Lines.TryDecode(raw, out byte[] b) ? b : raw.ToArray(),
            _ => raw.ToArray(),
        };
        Encoding encoding = Charsets.Get(entity.ContentType.Charset) is Encoding e && Charsets.IsAsciiCompatible(e) ? e : Encoding.UTF8;
        texts.Add(encoding.GetString(decoded));
    }
}
