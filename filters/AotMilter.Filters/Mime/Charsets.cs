using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>
/// Text encodings by MIME charset name. Besides .NET's own (UTF-8, ASCII, Latin-1, UTF-16/32), the code-page
/// encodings (windows-125x, ISO-8859-x, KOI8-R, Shift_JIS, ISO-2022-JP, GB2312, Big5, EUC-*) come from
/// <see cref="CodePagesEncodingProvider"/>, registered once here.
/// </summary>
public static class Charsets
{
    static Charsets() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>
    /// The encoding for <paramref name="charset"/> (null: us-ascii, RFC 2045's default), with exception fallbacks so
    /// that text it cannot represent is noticed; null when the name is unknown.
    /// </summary>
    public static Encoding? Get(string? charset)
    {
        string name = string.IsNullOrWhiteSpace(charset) ? "us-ascii" : charset.Trim().Trim('"', '\'').ToLowerInvariant();
        name = name switch
        {
            "utf8" => "utf-8",
            "ascii" or "ansi_x3.4-1968" or "us" => "us-ascii",
            "latin1" or "latin-1" => "iso-8859-1",
            _ when name.StartsWith("cp125", StringComparison.Ordinal) => "windows-" + name[2..],
            _ when name.StartsWith("x-cp125", StringComparison.Ordinal) => "windows-" + name[4..],
            _ => name,
        };
        try
        {
            return Encoding.GetEncoding(name, EncoderFallback.ExceptionFallback, DecoderFallback.ReplacementFallback);
        }
        catch (ArgumentException)
        {
            return null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when the encoding writes ASCII as ASCII bytes and never uses ASCII bytes inside a multi-byte character in
    /// a way that line breaks and tags could be confused with: what appending text after a part's bytes needs.
    /// UTF-16, UTF-32 and UTF-7 are not.
    /// </summary>
    public static bool IsAsciiCompatible(Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (encoding is UnicodeEncoding or UTF32Encoding || encoding.CodePage is 65000 or 1200 or 1201 or 12000 or 12001)
        {
            return false;
        }

        try
        {
            return encoding.GetBytes("\r\n-</>aZ=").AsSpan().SequenceEqual("\r\n-</>aZ="u8);
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>The bytes of <paramref name="text"/> in <paramref name="encoding"/>, or null when it cannot represent every character.</summary>
    public static byte[]? TryEncode(Encoding encoding, string text)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        try
        {
            return encoding.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// HTML in <paramref name="encoding"/>: characters it cannot represent are written as numeric character references
    /// (&amp;#8364;), which every HTML reader understands whatever the charset.
    /// </summary>
    public static byte[] EncodeHtml(Encoding encoding, string html)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(html);
        byte[]? direct = TryEncode(encoding, html);
        if (direct is not null)
        {
            return direct;
        }

        var text = new StringBuilder(html.Length + 32);
        foreach (Rune rune in html.EnumerateRunes())
        {
            string s = rune.ToString();
            text.Append(TryEncode(encoding, s) is null ? $"&#{rune.Value};" : s);
        }

        return encoding.GetBytes(text.ToString());
    }
}
