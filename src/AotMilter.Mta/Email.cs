using System.Text;

namespace AotMilter.Mta;

/// <summary>
/// A message as an SMTP client sends it in DATA: header fields, then the body. Parsed from an .eml file or text as
/// both MTAs read it: lines end with LF or CRLF (SMTP carries CRLF, which is what <see cref="ToBytes"/> writes); a
/// header field starts with a name of printable ASCII characters other than ':' (white space may come before the
/// colon) and continues over lines that start with a space or tab; the header section ends at an empty line or at
/// the first line that is neither (that line starts the body). A first line "From …" (an mbox separator) is kept
/// apart in <see cref="MboxFromLine"/>. Bytes are kept exactly: 8-bit and NUL bytes survive.
/// </summary>
public sealed class Email
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    public Email(IReadOnlyList<EmailHeader> headers, ReadOnlyMemory<byte> body, byte[]? mboxFromLine = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        Headers = headers;
        Body = body.ToArray();
        MboxFromLine = mboxFromLine;
    }

    /// <summary>The header fields, in order.</summary>
    public IReadOnlyList<EmailHeader> Headers { get; }

    /// <summary>The body: everything after the empty line that ends the header section, lines ending in CRLF.</summary>
    public byte[] Body { get; }

    /// <summary>The body as text (UTF-8).</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>A first line "From sender date" of an mbox file (without its line end), or null.</summary>
    public byte[]? MboxFromLine { get; }

    /// <summary>Reads an .eml file.</summary>
    public static Email Load(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>Parses message text (UTF-8).</summary>
    public static Email Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Parse(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Parses message bytes. Lines may end with LF or CRLF; a last line without a line end gets one (as
    /// SMTP requires one before the final dot).</summary>
    public static Email Parse(ReadOnlySpan<byte> bytes)
    {
        List<byte[]> lines = SplitLines(bytes);
        int index = 0;
        byte[]? mbox = null;
        if (lines.Count > 0 && lines[0].AsSpan().StartsWith("From "u8))
        {
            mbox = lines[0];
            index = 1;
        }

        var headers = new List<EmailHeader>();
        var current = new List<byte[]>();
        for (; index < lines.Count; index++)
        {
            byte[] line = lines[index];
            if (current.Count > 0 && line.Length > 0 && line[0] is (byte)' ' or (byte)'\t')
            {
                current.Add(line);
                continue;
            }

            if (current.Count > 0)
            {
                headers.Add(EmailHeader.FromLines(current));
                current = [];
            }

            if (line.Length == 0)
            {
                index++;
                break;
            }

            if (EmailHeader.NameLength(line) < 0)
            {
                break;
            }

            current.Add(line);
        }

        if (current.Count > 0)
        {
            headers.Add(EmailHeader.FromLines(current));
        }

        var body = new MemoryStream();
        for (; index < lines.Count; index++)
        {
            body.Write(lines[index]);
            body.Write(Crlf);
        }

        return new Email(headers, body.ToArray(), mbox);
    }

    /// <summary>A message built from header fields (name, value; a value folds with "\n" + white space) and a body
    /// (LF or CRLF line ends).</summary>
    public static Email Create(IEnumerable<(string Name, string Value)> headers, string body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        var text = new StringBuilder();
        foreach ((string name, string value) in headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        text.Append("\r\n").Append(body);
        return Parse(text.ToString());
    }

    /// <summary>The value of the first field called <paramref name="name"/> (unfolded, trimmed), or null.</summary>
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Is(name))?.UnfoldedValue;

    /// <summary>The values of every field called <paramref name="name"/>, in order (unfolded, trimmed).</summary>
    public IReadOnlyList<string> HeaderValues(string name) => [.. Headers.Where(h => h.Is(name)).Select(h => h.UnfoldedValue)];

    /// <summary>The message as sent in DATA: mbox line (if any), header lines, empty line, body; CRLF line ends.</summary>
    public byte[] ToBytes()
    {
        var bytes = new MemoryStream(Body.Length + (Headers.Count * 64));
        if (MboxFromLine is not null)
        {
            bytes.Write(MboxFromLine);
            bytes.Write(Crlf);
        }

        foreach (EmailHeader header in Headers)
        {
            bytes.Write(header.Raw);
            bytes.Write(Crlf);
        }

        bytes.Write(Crlf);
        bytes.Write(Body);
        return bytes.ToArray();
    }

    /// <summary>The header section as text, one field per line as written (for assertion messages).</summary>
    public string HeaderText => string.Join("\n", Headers.Select(h => h.ToString()));

    public override string ToString() => Encoding.UTF8.GetString(ToBytes());

    /// <summary>Splits at LF (a CR before it is dropped); a non-empty last line without LF is a line too.</summary>
    private static List<byte[]> SplitLines(ReadOnlySpan<byte> bytes)
    {
        var lines = new List<byte[]>();
        while (!bytes.IsEmpty)
        {
            int lf = bytes.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = lf < 0 ? bytes : bytes[..lf];
            if (lf >= 0 && line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            lines.Add(line.ToArray());
            bytes = lf < 0 ? default : bytes[(lf + 1)..];
        }

        return lines;
    }
}

/// <summary>
/// One header field. <see cref="Raw"/> holds it exactly as written (name, colon, value, continuation lines joined by
/// CRLF); <see cref="Name"/> and <see cref="Value"/> are what an MTA passes to a milter: the name without the white
/// space before the colon, the value after the colon with its leading white space and LF line breaks.
/// </summary>
public sealed class EmailHeader
{
    private EmailHeader(byte[] raw, int nameLength, int valueStart)
    {
        Raw = raw;
        NameBytes = raw.AsSpan(0, nameLength).ToArray();
        ValueBytes = Unfold(raw.AsSpan(valueStart));
    }

    /// <summary>The field as written, continuation lines joined by CRLF, without the final line end.</summary>
    public byte[] Raw { get; }

    /// <summary>The name (bytes).</summary>
    public byte[] NameBytes { get; }

    /// <summary>Everything after the colon, with LF (not CRLF) between folded lines.</summary>
    public byte[] ValueBytes { get; }

    public string Name => Encoding.UTF8.GetString(NameBytes);

    /// <summary>Everything after the colon (leading white space kept), folded lines separated by "\n".</summary>
    public string Value => Encoding.UTF8.GetString(ValueBytes);

    /// <summary>The value with folding removed and surrounding white space trimmed.</summary>
    public string UnfoldedValue => string.Join(' ', Value.Split('\n').Select(l => l.Trim(' ', '\t'))).Trim();

    /// <summary>A field "Name: value" (value folded with "\n" + white space).</summary>
    public static EmailHeader Create(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        byte[] raw = Encoding.UTF8.GetBytes($"{name}: {value.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal)}");
        return FromRaw(raw) ?? throw new ArgumentException($"'{name}' is not a header field name", nameof(name));
    }

    /// <summary>A field from its raw text (continuation lines joined by CRLF), or null when it is not a header field.</summary>
    public static EmailHeader? FromRaw(byte[] raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        int nameLength = NameLength(raw);
        if (nameLength < 0)
        {
            return null;
        }

        int colon = raw.AsSpan().IndexOf((byte)':');
        return new EmailHeader(raw, nameLength, colon + 1);
    }

    /// <summary>True when the field is called <paramref name="name"/> (ASCII case ignored).</summary>
    public bool Is(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Encoding.UTF8.GetString(Raw).Replace("\r\n", "\n", StringComparison.Ordinal);

    internal static EmailHeader FromLines(List<byte[]> lines)
    {
        var raw = new List<byte>();
        for (int i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                raw.Add((byte)'\r');
                raw.Add((byte)'\n');
            }

            raw.AddRange(lines[i]);
        }

        return FromRaw([.. raw])!;
    }

    /// <summary>
    /// The length of the field name if <paramref name="line"/> starts a header field (as Postfix's is_header():
    /// printable ASCII other than ':', then optional spaces or tabs, then ':'), else -1.
    /// </summary>
    internal static int NameLength(ReadOnlySpan<byte> line)
    {
        int length = 0;
        while (length < line.Length && line[length] is > (byte)' ' and < 0x7F and not (byte)':')
        {
            length++;
        }

        if (length == 0)
        {
            return -1;
        }

        int i = length;
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t')
        {
            i++;
        }

        return i < line.Length && line[i] == (byte)':' ? length : -1;
    }

    private static byte[] Unfold(ReadOnlySpan<byte> value)
    {
        var bytes = new List<byte>(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == (byte)'\r' && i + 1 < value.Length && value[i + 1] == (byte)'\n')
            {
                continue;
            }

            bytes.Add(value[i]);
        }

        return [.. bytes];
    }
}
