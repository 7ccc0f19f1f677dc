using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta.Model;

/// <summary>
/// The message as Sendmail holds it (headers.c, milter.c): one header list that starts with the nine headers of the
/// standard configuration (H lines of sendmail.cf: Return-Path, Received, Resent-Date, Date, Resent-From, From,
/// Full-Name, Resent-Message-Id, Message-Id), each written only when its condition holds and the client did not send
/// it; the client's headers follow. The milter sees only the client's headers. Edits:
/// <list type="bullet">
/// <item>add: if the name is one Sendmail generates (and not Received), the new value takes that header's place near
/// the top; otherwise the field goes before the first field of the same name, or last;</item>
/// <item>insert at index i: after the i-th entry of the whole list (0 = after Return-Path, so above Received);</item>
/// <item>change/delete the i-th field of a name: counted over the client's fields of that name, deleted ones included
/// (a deleted field keeps its index); with no such field, a generated header of that name is changed; changing a field
/// that does not exist adds it.</item>
/// </list>
/// The client's Return-Path is shown to the milter but never relayed (only mailers with the P flag write it); an mbox
/// "From " line is dropped; headers over 32 KiB in all make Sendmail refuse the message.
/// </summary>
internal sealed class SendmailMessage : MtaMessage
{
    /// <summary>Sendmail's MaxHeadersLength default.</summary>
    public const int MaxHeadersLength = 32768;

    private readonly List<Node> _nodes;
    private bool _resent;
    private int _headerBytes;

    public SendmailMessage(MessageContext context)
        : base(context)
    {
        string date = " " + Context.Arrival.ToString("ddd, d MMM yyyy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture);
        string sender = " " + (Context.Sender.Address.Length == 0 ? "MAILER-DAEMON" : Context.Sender.Address);
        string messageId = " " + GeneratedMessageId;
        _nodes =
        [
            Default("Return-Path", $" {Context.Sender.Path}", 'P'),
            new Node("Received", Ascii(ReceivedValue())) { Trace = true },
            Default("Resent-Date", date, 'D', resent: true),
            Default("Date", date, 'D'),
            Default("Resent-From", sender, 'F', resent: true),
            Default("From", sender, 'F'),
            Default("Full-Name", "", 'x'),
            Default("Resent-Message-Id", messageId, 'M', resent: true),
            Default("Message-Id", messageId, 'M'),
        ];
    }

    public override IReadOnlyList<(byte[] Name, byte[] Value)> MilterHeaders =>
        [.. _nodes.Where(n => n.User && n.Value is not null).Select(n => (Ascii(n.Field), n.Value!))];

    public override string MessageId
    {
        get
        {
            Node? node = _nodes.FirstOrDefault(n => n.Value is not null && n.Field.Equals("Message-Id", StringComparison.OrdinalIgnoreCase));
            return node is null ? GeneratedMessageId : Encoding.UTF8.GetString(node.Value!).Trim();
        }
    }

    public override void Receive(Email message)
    {
        // An mbox "From " line is not a header: Sendmail drops it.
        foreach (EmailHeader header in message.Headers)
        {
            _headerBytes += header.Raw.Length + 2;
            AddClientHeader(header);
        }

        if (_headerBytes > MaxHeadersLength)
        {
            IntakeRefusal = new SmtpResponse(552, $"5.6.0 Headers too large ({MaxHeadersLength} max)", SmtpCommand.EndOfData);
        }

        Body = message.Body;
    }

    /// <summary>dochompheader(): a client field cancels the generated one of its name and inherits its condition; a
    /// client field with an empty value is dropped where a generated one exists.</summary>
    public override void AddClientHeader(EmailHeader header)
    {
        string name = header.Name;
        bool empty = header.ValueBytes.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r');
        char? condition = null;
        foreach (Node node in _nodes)
        {
            if (node.Field.Equals(name, StringComparison.OrdinalIgnoreCase) && !node.User && !node.Trace)
            {
                if (empty)
                {
                    return;
                }

                node.Value = null;
                condition = node.Condition;
            }
        }

        if (name.StartsWith("Resent-", StringComparison.OrdinalIgnoreCase))
        {
            _resent = true;
        }

        _nodes.Add(new Node(name, header.ValueBytes) { User = true, Condition = condition });
    }

    protected override HeaderEditStyle EditStyle => HeaderEditStyle.Sendmail;

    public override int Count => _nodes.Count;

    public override ReadOnlySpan<byte> NameAt(int position) => Ascii(_nodes[position].Field);

    public override HeaderOrigin OriginAt(int position)
    {
        Node node = _nodes[position];
        return node.Trace ? HeaderOrigin.Trace : node.User ? HeaderOrigin.Client : HeaderOrigin.Generated;
    }

    public override void Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        _nodes.Insert(position, new Node(Encoding.UTF8.GetString(name), value.ToArray()) { User = true });

    /// <summary>The entry keeps its field name as Sendmail stored it; the value is the milter's.</summary>
    public override void Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Node node = _nodes[position];
        node.Value = value.ToArray();
        node.User = true;
    }

    /// <summary>A deleted field stays in the list, unwritten, so the indexes of later fields of its name do not move.</summary>
    public override void Remove(int position) => _nodes[position].Value = null;

    public override Email Render()
    {
        var headers = new List<EmailHeader>();
        foreach (Node node in _nodes)
        {
            if (node.Value is null || node.Condition is 'P' or 'x' || (node.Resent && !node.User && !_resent) || NotRelayed(node.Field))
            {
                continue;
            }

            headers.Add(EmailHeader.FromRaw(HeaderText(Ascii(node.Field), node.Value))
                ?? throw new InvalidOperationException($"not a header: {node.Field}"));
        }

        return new Email(headers, ReplacedBody is null ? Body : CanonicalBody(ReplacedBody));
    }

    private string ReceivedValue()
    {
        SmtpClientInfo client = Context.Client;
        string recipient = Context.Recipients.Count == 1 ? $"\n\tfor {Context.Recipients[0].Path}" : "";
        return $" from {client.Helo} ({client.HostName} [{client.Address}])\n"
            + $"\tby {Context.Profile.HostName} (8.17.1.9/8.17.1.9) with ESMTP id {Context.QueueId}{recipient}; "
            + Context.Arrival.ToString("ddd, d MMM yyyy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Fields Sendmail never writes for an SMTP mailer although the milter saw them: Bcc and Resent-Bcc (H_BCC), and the
    /// H_ACHECK fields Content-Length, Full-Name and Return-Path, written only for mailers with a matching flag.
    /// </summary>
    private static bool NotRelayed(string field) =>
        field.Equals("Bcc", StringComparison.OrdinalIgnoreCase) || field.Equals("Resent-Bcc", StringComparison.OrdinalIgnoreCase)
        || field.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || field.Equals("Full-Name", StringComparison.OrdinalIgnoreCase)
        || field.Equals("Return-Path", StringComparison.OrdinalIgnoreCase);

    private static Node Default(string name, string value, char condition, bool resent = false) =>
        new(name, Ascii(value)) { Condition = condition, Resent = resent };

    private static bool Same(Node node, string name) => node.Field.Equals(name, StringComparison.OrdinalIgnoreCase);

    /// <summary>One entry of Sendmail's header list (HDR): field name, value after the colon (null: not written).</summary>
    private sealed class Node(string field, byte[]? value)
    {
        public string Field { get; } = field;

        public byte[]? Value { get; set; } = value;

        /// <summary>H_USER: sent by the client or set by a milter.</summary>
        public bool User { get; set; }

        /// <summary>H_TRACE: Sendmail's own Received:.</summary>
        public bool Trace { get; init; }

        /// <summary>The ?X? condition of a generated header (a mailer flag; P and x never hold for SMTP relaying).</summary>
        public char? Condition { get; init; }

        /// <summary>H_RESENT: written only for a resent message.</summary>
        public bool Resent { get; init; }
    }
}
