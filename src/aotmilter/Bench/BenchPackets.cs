using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Cli.Bench;

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

        Span<byte> negotiation = stackalloc byte[OptionNegotiation.PayloadSize];
        BinaryPrimitives.WriteUInt32BigEndian(negotiation, 6);
        BinaryPrimitives.WriteUInt32BigEndian(negotiation[4..], (uint)settings.OfferActions);
        BinaryPrimitives.WriteUInt32BigEndian(negotiation[8..], (uint)settings.OfferProtocol);
        MilterFrameWriter.Write(w, (byte)MilterCommand.OptionNegotiation, negotiation);
        Negotiate = Take(w);

        // Connect: the macros Postfix sends, then host, family '4', port, address.
        Macros(w, MilterCommand.Connect, "j", "mx.example.com", "_", "client.example.net [192.0.2.10]", "{daemon_name}", "smtpd", "{client_addr}", "192.0.2.10");
        var connect = new List<byte>();
        connect.AddRange(Nul("client.example.net"));
        connect.Add((byte)'4');
        connect.AddRange([25025 >> 8, 25025 & 0xff]);
        connect.AddRange(Nul("192.0.2.10"));
        MilterFrameWriter.Write(w, (byte)MilterCommand.Connect, connect.ToArray());
        Connect = Take(w);

        MilterFrameWriter.Write(w, (byte)MilterCommand.Helo, Nul("client.example.net"));
        Helo = Take(w);

        // MAIL: macros i (the queue id, patched per message), {auth_authen}, {mail_addr}.
        Macros(w, MilterCommand.Mail, "i", new string('0', QueueIdLength), "{auth_authen}", "bench-user", "{mail_addr}", "sender@example.org");
        MailQueueIdOffset = MilterFrameReader.HeaderSize + 1 + 2; // frame header, stage, "i\0"
        MilterFrameWriter.Write(w, (byte)MilterCommand.Mail, [.. Nul("<sender@example.org>"), .. Nul("SIZE=4096")]);
        Mail = Take(w);

        Macros(w, MilterCommand.Rcpt, "{rcpt_addr}", settings.Recipient);
        MilterFrameWriter.Write(w, (byte)MilterCommand.Rcpt, Nul($"<{settings.Recipient}>"));
        Rcpt = Take(w);

        MilterFrameWriter.WriteEmpty(w, (byte)MilterCommand.Data);
        Data = Take(w);

        Headers = new byte[settings.Headers][];
        for (int i = 0; i < settings.Headers; i++)
        {
            (string name, string value) = i < StandardHeaders.Length
                ? StandardHeaders[i]
                : (string.Create(CultureInfo.InvariantCulture, $"X-Filler-{i}"), string.Create(CultureInfo.InvariantCulture, $"filler header value number {i}"));
            MilterFrameWriter.WriteStrings(w, (byte)MilterCommand.Header, name, value);
            Headers[i] = Take(w);
        }

        MilterFrameWriter.WriteEmpty(w, (byte)MilterCommand.EndOfHeaders);
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
            MilterFrameWriter.Write(w, (byte)MilterCommand.Body, body.AsSpan(offset, Math.Min(settings.Chunk, body.Length - offset)));
            Body[i] = Take(w);
        }

        Macros(w, MilterCommand.EndOfMessage, "i", new string('0', QueueIdLength));
        MilterFrameWriter.WriteEmpty(w, (byte)MilterCommand.EndOfMessage);
        EndOfMessage = Take(w);

        MilterFrameWriter.WriteEmpty(w, (byte)MilterCommand.Abort);
        Abort = Take(w);
        MilterFrameWriter.WriteEmpty(w, (byte)MilterCommand.Quit);
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

    private static byte[] Nul(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    /// <summary>A macro frame for the stage of <paramref name="command"/>: the stage byte, then name\0value\0 pairs.</summary>
    private static void Macros(ByteBufferWriter w, MilterCommand command, params string[] namesAndValues)
    {
        var payload = new List<byte> { (byte)command };
        foreach (string s in namesAndValues)
        {
            payload.AddRange(Nul(s));
        }

        MilterFrameWriter.Write(w, (byte)MilterCommand.Macro, payload.ToArray());
    }
}
