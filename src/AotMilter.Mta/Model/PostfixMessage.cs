using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta.Model;

/// <summary>
/// The message as Postfix's cleanup(8) holds it (cleanup_milter.c): one list of header records, its own Received:
/// first. The milter sees every header but that first one. Edits:
/// <list type="bullet">
/// <item>add: appended after the last header;</item>
/// <item>insert at index i: before the (i+1)-th header of the list counting its own Received: (so 0 puts the new
/// header above it), or appended when there are fewer;</item>
/// <item>change/delete the i-th field of a name (0 is taken as 1): counted from the second header of the list, so
/// relative to the headers the milter saw; a deleted header is gone, so later fields of that name move up; changing a
/// field that does not exist adds it; deleting one does nothing.</item>
/// </list>
/// On the way in it drops Return-Path, Bcc, Resent-Bcc and Content-Length (<c>message_drop_headers</c>), turns an mbox
/// "From " line into X-Mailbox-Line, and (for local clients) appends Message-Id, Date and From when missing. On the way
/// out its SMTP client breaks lines longer than 998 bytes (<c>smtp_line_length_limit</c>) into pieces continued by a
/// space.
/// </summary>
internal sealed class PostfixMessage : MtaMessage
{
    private const int LineLengthLimit = 998;

    /// <summary>header_size_limit as cleanup(8) lowers it when milters are configured (so a header fits a milter packet).</summary>
    private const int HeaderSizeLimit = 60000;

    /// <summary>smtpd's line_length_limit: longer lines are stored as several records.</summary>
    private const int RecordLength = 2048;

    private static readonly string[] DroppedHeaders = ["bcc", "content-length", "resent-bcc", "return-path"];

    private readonly List<Field> _fields = [];

    public PostfixMessage(MessageContext context)
        : base(context)
    {
        _fields.Add(new Field(Ascii("Received"), ReceivedText(), Trace: true));
    }

    public override IReadOnlyList<(byte[] Name, byte[] Value)> MilterHeaders =>
        [.. _fields.Where(f => !f.Trace).Select(f => (f.Name, ValueOf(f.Text, f.Name.Length)))];

    public override string MessageId
    {
        get
        {
            Field? found = _fields.FirstOrDefault(f => !f.Trace && NameIs(f.Name, "Message-Id"));
            return found is null ? GeneratedMessageId : Encoding.UTF8.GetString(ValueOf(found.Text, found.Name.Length)).Trim();
        }
    }

    public override void Receive(Email message)
    {
        if (message.MboxFromLine is { } mbox)
        {
            _fields.Add(new Field(Ascii("X-Mailbox-Line"), [.. Ascii("X-Mailbox-Line: "), .. mbox]));
        }

        foreach (EmailHeader header in message.Headers)
        {
            if (!DroppedHeaders.Any(header.Is))
            {
                AddClientHeader(header);
            }
        }

        if (Context.Profile.AddsMissingHeaders)
        {
            AddIfMissing("Message-Id", GeneratedMessageId);
            AddIfMissing("Date", Context.Arrival.ToString("ddd, d MMM yyyy HH:mm:ss +0000 '(UTC)'", CultureInfo.InvariantCulture));
            AddIfMissing("From", Context.Sender.Address.Length == 0 ? "MAILER-DAEMON" : Context.Sender.Address);
        }

        Body = message.Body;
    }

    /// <summary>
    /// cleanup's reading of a header (mime_state.c): white space between the name and the colon is dropped ("name
    /// space colon" is obsolete syntax), and the field is cut at the header size limit (60,000 bytes when milters are
    /// configured, counting LF between lines): the first line or record that would cross it is discarded with all that
    /// follows. smtpd stores lines in records of at most 2,048 bytes (<c>line_length_limit</c>).
    /// </summary>
    public override void AddClientHeader(EmailHeader header)
    {
        byte[] raw = header.Raw;
        var text = new List<byte>(raw.Length);
        int length = 0;
        List<byte[]> lines = Lines(raw);
        for (int l = 0; l < lines.Count; l++)
        {
            byte[] line = lines[l];
            for (int offset = 0; offset == 0 || offset < line.Length; offset += RecordLength)
            {
                ReadOnlySpan<byte> record = line.AsSpan(offset, Math.Min(RecordLength, line.Length - offset));
                if (l == 0 && offset == 0)
                {
                    int colon = record.IndexOf((byte)':');
                    text.AddRange(header.NameBytes);
                    text.AddRange(record[colon..]);
                    length = header.NameBytes.Length + record.Length - colon;
                    continue;
                }

                if (length + (offset == 0 ? 1 : 0) + record.Length > HeaderSizeLimit)
                {
                    // Discarded, and so is everything after it (checked against Postfix 3.7.11).
                    length = HeaderSizeLimit;
                    continue;
                }

                if (offset == 0)
                {
                    text.AddRange(Crlf);
                    length++;
                }

                text.AddRange(record);
                length += record.Length;
            }
        }

        _fields.Add(new Field(header.NameBytes, [.. text]));
    }

    protected override HeaderEditStyle EditStyle => HeaderEditStyle.Postfix;

    public override int Count => _fields.Count;

    public override ReadOnlySpan<byte> NameAt(int position) => _fields[position].Name;

    public override HeaderOrigin OriginAt(int position) => _fields[position].Trace ? HeaderOrigin.Trace : HeaderOrigin.Client;

    public override void Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        _fields.Insert(position, new Field(name.ToArray(), HeaderText(name, value)));

    public override void Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        _fields[position] = new Field(name.ToArray(), HeaderText(name, value));

    public override void Remove(int position) => _fields.RemoveAt(position);

    public override Email Render()
    {
        var headers = new List<EmailHeader>(_fields.Count);
        foreach (Field field in _fields)
        {
            headers.Add(EmailHeader.FromRaw(BreakLongLines(field.Text)) ?? throw new InvalidOperationException(
                $"not a header: {Encoding.UTF8.GetString(field.Text)}"));
        }

        byte[] body = ReplacedBody is null ? Body : CanonicalBody(ReplacedBody);
        return new Email(headers, BreakLongLines(body));
    }

    private void AddIfMissing(string name, string value)
    {
        if (!_fields.Any(f => !f.Trace && NameIs(f.Name, name)))
        {
            _fields.Add(new Field(Ascii(name), Ascii($"{name}: {value}")));
        }
    }

    private byte[] ReceivedText()
    {
        SmtpClientInfo client = Context.Client;
        string recipient = Context.Recipients.Count == 1 ? $"\r\n\tfor {Context.Recipients[0].Path}" : "";
        return Ascii($"Received: from {client.Helo} ({client.HostName} [{client.Address}])\r\n"
            + $"\tby {Context.Profile.HostName} (Postfix) with ESMTP id {Context.QueueId}{recipient}; "
            + Context.Arrival.ToString("ddd, d MMM yyyy HH:mm:ss +0000 '(UTC)'", CultureInfo.InvariantCulture));
    }

    private static List<byte[]> Lines(ReadOnlySpan<byte> text)
    {
        var lines = new List<byte[]>();
        while (true)
        {
            int crlf = text.IndexOf(Crlf);
            lines.Add((crlf < 0 ? text : text[..crlf]).ToArray());
            if (crlf < 0)
            {
                return lines;
            }

            text = text[(crlf + 2)..];
        }
    }

    /// <summary>The value of a stored header text: after "name[white space]:", CRLF turned into LF.</summary>
    private static byte[] ValueOf(byte[] text, int nameLength)
    {
        int colon = Array.IndexOf(text, (byte)':', nameLength);
        var value = new List<byte>(text.Length - colon);
        for (int i = colon + 1; i < text.Length; i++)
        {
            if (text[i] == (byte)'\r' && i + 1 < text.Length && text[i + 1] == (byte)'\n')
            {
                continue;
            }

            value.Add(text[i]);
        }

        return [.. value];
    }

    /// <summary>Postfix's SMTP client: a line longer than 998 bytes goes out as 998 bytes, then CRLF, a space and the
    /// next 997 bytes, and so on.</summary>
    private static byte[] BreakLongLines(byte[] text)
    {
        if (text.Length <= LineLengthLimit)
        {
            return text;
        }

        var output = new MemoryStream(text.Length + 64);
        ReadOnlySpan<byte> rest = text;
        while (true)
        {
            int crlf = rest.IndexOf(Crlf);
            ReadOnlySpan<byte> line = crlf < 0 ? rest : rest[..crlf];
            int limit = LineLengthLimit;
            while (line.Length > limit)
            {
                output.Write(line[..limit]);
                output.Write(Crlf);
                output.WriteByte((byte)' ');
                line = line[limit..];
                limit = LineLengthLimit - 1;
            }

            output.Write(line);
            if (crlf < 0)
            {
                break;
            }

            output.Write(Crlf);
            rest = rest[(crlf + 2)..];
        }

        return output.ToArray();
    }

    /// <summary>One header record: its name and its full text as stored and relayed (lines joined by CRLF).</summary>
    private sealed record Field(byte[] Name, byte[] Text, bool Trace = false);
}
