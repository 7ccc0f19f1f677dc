using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// Every frame the generator sends, built once per run. The conversation is the one ../shared/bench/milter-load
/// plays (same macros, headers and body), so the two generators load a milter identically; <c>--message</c> files take
/// the place of the generated header and body (<see cref="Messages"/>, sent in turn). Only the MAIL frame changes per
/// message (its queue id macro): each connection patches its own copies of <see cref="Mail"/> and
/// <see cref="EndOfMessage"/>.
/// </summary>
internal sealed class BenchPackets
{
    /// <summary>Hex digits of the queue id patched into <see cref="Mail"/> and <see cref="EndOfMessage"/>.</summary>
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
        MilterCommandWriter.WriteMail(w, "<sender@example.org>", ["SIZE=4096"]);
        Mail = Take(w);

        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.Rcpt, [("{rcpt_addr}", settings.Recipient)]);
        MilterCommandWriter.WriteRcpt(w, $"<{settings.Recipient}>", []);
        Rcpt = Take(w);

        MilterCommandWriter.WriteData(w);
        Data = Take(w);

        MilterCommandWriter.WriteEndOfHeaders(w);
        EndOfHeaders = Take(w);

        if (settings.MessageFiles.Count == 0)
        {
            var headers = new (string Name, string Value)[settings.Headers];
            for (int i = 0; i < headers.Length; i++)
            {
                headers[i] = i < StandardHeaders.Length
                    ? StandardHeaders[i]
                    : (string.Create(CultureInfo.InvariantCulture, $"X-Filler-{i}"), string.Create(CultureInfo.InvariantCulture, $"filler header value number {i}"));
            }

            Messages = [BenchMessage.Generated(headers, settings.BodySize, settings.Chunk, w)];
        }
        else
        {
            Messages = new BenchMessage[settings.MessageFiles.Count];
            for (int i = 0; i < Messages.Length; i++)
            {
                Messages[i] = BenchMessage.Load(settings.MessageFiles[i], settings.Chunk, w);
            }
        }

        MilterCommandWriter.WriteMacros(w, (byte)MilterCommand.EndOfMessage, [("i", new string('0', QueueIdLength))]);
        MilterCommandWriter.WriteEndOfMessage(w);
        EndOfMessage = Take(w);

        MilterCommandWriter.WriteAbort(w);
        Abort = Take(w);
        MilterCommandWriter.WriteQuit(w);
        Quit = Take(w);

        ExpectedHeaderName = settings.ExpectHeader is null ? [] : Encoding.UTF8.GetBytes(settings.ExpectHeader);
    }

    public byte[] Negotiate { get; }

    /// <summary>Connect macros and CONNECT.</summary>
    public byte[] Connect { get; }

    public byte[] Helo { get; }

    /// <summary>MAIL macros and MAIL; the queue id sits at <see cref="QueueIdOffset"/>.</summary>
    public byte[] Mail { get; }

    /// <summary>
    /// Where the queue id sits in <see cref="Mail"/> and in <see cref="EndOfMessage"/>: each starts with a macro frame
    /// whose first macro is i (frame header, stage, "i\0", then the id).
    /// </summary>
    public const int QueueIdOffset = MilterFrameReader.HeaderSize + 1 + 2;

    /// <summary>RCPT macros and RCPT.</summary>
    public byte[] Rcpt { get; }

    public byte[] Data { get; }

    public byte[] EndOfHeaders { get; }

    /// <summary>The messages sent in turn: the generated one, or each <c>--message</c> file.</summary>
    public BenchMessage[] Messages { get; }

    /// <summary>End-of-message macros (the queue id again, at <see cref="QueueIdOffset"/>) and end of message.</summary>
    public byte[] EndOfMessage { get; }

    public byte[] Abort { get; }

    public byte[] Quit { get; }

    /// <summary>The header the end of message must add (empty: none expected).</summary>
    public byte[] ExpectedHeaderName { get; }

    private static byte[] Take(ByteBufferWriter w) => BenchMessage.Take(w);
}
