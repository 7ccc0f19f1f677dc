namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// One transaction the sink accepted: the envelope and the message bytes exactly as the MTA relayed them (CRLF line
/// endings, dot-stuffing removed).
/// </summary>
public sealed record SinkMessage(int Sequence, string Helo, string MailFrom, IReadOnlyList<string> Recipients, byte[] Data)
{
    private MailMessage? _parsed;

    public MailMessage Parsed => _parsed ??= MailMessage.Parse(Data);

    public IReadOnlyList<HeaderField> Headers => Parsed.Headers;

    public byte[] Body => Parsed.Body;

    public override string ToString() =>
        $"#{Sequence} MAIL FROM:{MailFrom} RCPT TO:{string.Join(",", Recipients)} ({Data.Length} bytes)";
}
