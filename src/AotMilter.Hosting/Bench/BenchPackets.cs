using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// Every frame the generator sends, built once per run. The conversation is the one ../shared/bench/milter-load
/// plays (same macros, headers and body), so the two generators load a milter identically. Only the MAIL frame
/// changes per message (its queue id macro): each connection patches its own copy of <see cref="Mail"/>.
/// </summary>
internal sealed class BenchPackets
{
    /// <summary>Hex digits of the queue id patched into <see cref="Mail"/>.</summary>
    public const int QueueIdLength = 10;

    private static readonly (string Name, string Value)[] StandardHeaders =
    [
        ("Received", "from client.example.net (client.example.net [192.0.2.10]) by mx.example.com (Postfix) with ESMTP id 4ABCDEF; Mon, 1 Jan 2024 00:00:00 +0000"),
        ("From", "Sender <sender@example.org>"),
        ("To", "Recipient <user@example.com>"),
        ("Subject", "milter benchmark message"),
        ("Date", "Mon, 1 Jan 2024 00:00:00 +0000"),
        ("Message-ID", "<bench.0001@example.org>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
    ];

    public BenchPackets(BenchSettings settings)
    {
        var w = new ByteBufferWriter(256);

        MilterCommandWriter.WriteNegotiate(w, new OptionNegotiation(6, settings.OfferActions, settings.OfferProtocol));
        Negotiate = Take(w);

        // Connect: the macros Postfix sends, then host, family '4', port, address.
        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.Connect,
            [("j", "mx.example.com"), ("_", "client.example.net [192.0.2.10]"), ("{daemon_name}", "smtpd"), ("{client_addr}", "192.0.2.10")]);
        MilterCommandWriter.WriteConnect(w, "client.example.net", ConnectFamily.IPv4, 25025, "192.0.2.10");
        Connect = Take(w);

        MilterCommandWriter.WriteHelo(w, "client.example.net");
        Helo = Take(w);

        // MAIL: macros i (the queue id, patched per message), {auth_authen}, {mail_addr}.
        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.Mail,
            [("i", new string('0', QueueIdLength)), ("{auth_authen}", "bench-user"), ("{mail_addr}", "sender@example.org")]);
        MailQueueIdOffset = MilterFrameReader.HeaderSize + 1 + 2; // frame header, stage, "i\0"
        MilterCommandWriter.WriteMail(w, "<sender@example.org>", ["SIZE=4096"]);
        Mail = Take(w);

        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.Rcpt, [("{rcpt_addr}", settings.Recipient)]);
        MilterCommandWriter.WriteRcpt(w, $"<{settings.Recipient}>", []);
        Rcpt = Take(w);

        MilterCommandWriter.WriteData(w);
        Data = Take(w);

        Headers = new byte[settings.Headers][];
        for (int i = 0; i < settings.Headers; i++)
        {
            (string name, string value) = i < StandardHeaders.Length
                ? StandardHeaders[i]
                : (string.Create(CultureInfo.InvariantCulture, $"X-Filler-{i}"), string.Create(CultureInfo.InvariantCulture, $"filler header value number {i}"));
            MilterCommandWriter.WriteHeader(w, name, value);
            Headers[i] = Take(w);
        }

        MilterCommandWriter.WriteEndOfHeaders(w);
        EndOfHeaders = Take(w);

        // Body: lines of 76 letters and CRLF, split into chunks.
        byte[] body = new byte[settings.BodySize];
        for (int i = 0; i < body.Length; i++)
        {
            int column = i % 78;
            body[i] = column == 76 ? (byte)'\r' : column == 77 ? (byte)'\n' : (byte)('A' + (i / 78 % 26));
        }

        int chunks = (body.Length + settings.Chunk - 1) / settings.Chunk;
        Body = new byte[chunks][];
        for (int i = 0; i < chunks; i++)
        {
            int offset = i * settings.Chunk;
            MilterCommandWriter.WriteBody(w, body.AsSpan(offset, Math.Min(settings.Chunk, body.Length - offset)));
            Body[i] = Take(w);
        }

        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.EndOfMessage, [("i", new string('0', QueueIdLength))]);
        MilterCommandWriter.WriteEndOfMessage(w);
        EndOfMessage = Take(w);

        MilterCommandWriter.WriteAbort(w);
        Abort = Take(w);
        MilterCommandWriter.WriteQuit(w);
        Quit = Take(w);

        ExpectedHeaderName = settings.ExpectHeader is null ? [] : Encoding.UTF8.GetBytes(settings.ExpectHeader);
        BenchHeaderValue = Encoding.ASCII.GetBytes(settings.Headers.ToString(CultureInfo.InvariantCulture));
    }

    public byte[] Negotiate { get; }

    /// <summary>Connect macros and CONNECT.</summary>
    public byte[] Connect { get; }

    public byte[] Helo { get; }

    /// <summary>MAIL macros and MAIL; the queue id sits at <see cref="MailQueueIdOffset"/>.</summary>
    public byte[] Mail { get; }

    public int MailQueueIdOffset { get; }

    /// <summary>RCPT macros and RCPT.</summary>
    public byte[] Rcpt { get; }

    public byte[] Data { get; }

    public byte[][] Headers { get; }

    public byte[] EndOfHeaders { get; }

    public byte[][] Body { get; }

    /// <summary>End-of-message macros and end of message.</summary>
    public byte[] EndOfMessage { get; }

    public byte[] Abort { get; }

    public byte[] Quit { get; }

    /// <summary>The header the end of message must add (empty: none expected).</summary>
    public byte[] ExpectedHeaderName { get; }

    /// <summary>The value X-Bench must have: the number of headers sent.</summary>
    public byte[] BenchHeaderValue { get; }

    private static byte[] Take(ByteBufferWriter w)
    {
        byte[] bytes = w.WrittenSpan.ToArray();
        w.Reset();
        return bytes;
    }
}
