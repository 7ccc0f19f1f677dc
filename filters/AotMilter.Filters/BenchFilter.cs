using System.Globalization;

namespace AotMilter.Filters;

/// <summary>
/// The benchmark's trivial filter, behaving like the peers in shared/peers: counts the headers of each message,
/// rejects the recipient reject@example.com, and adds "X-Bench: &lt;header count&gt;" before accepting.
/// Header and MAIL FROM only observe, so the MTA is told not to wait for a reply to them. Its one field is reset
/// between connections, so the daemon reuses the instance instead of making one per connection.
/// </summary>
[Milter("bench", Description = "Benchmark filter: counts headers, rejects reject@example.com, adds X-Bench")]
public sealed class BenchFilter : IResettableFilter
{
    private static readonly SmtpReply RecipientRejected = SmtpReply.Create(550, "5.7.1", "Recipient rejected by bench filter");

    private int _headers;

    [OnMailFrom]
    public void MailFrom() => _headers = 0;

    [OnRcptTo]
    public Verdict RcptTo(EnvelopeAddress recipient)
        => recipient.Is("reject@example.com") ? Verdict.RejectWith(RecipientRejected) : Verdict.Continue;

    [OnHeader]
    public void Header() => _headers++;

    [OnEndOfMessage]
    public Verdict EndOfMessage(MessageEditor editor)
    {
        Span<char> count = stackalloc char[11];
        _headers.TryFormat(count, out int written, default, CultureInfo.InvariantCulture);
        editor.AddHeader("X-Bench", count[..written]);
        _headers = 0;
        return Verdict.Accept;
    }

    [OnAbort]
    public void Abort() => _headers = 0;

    public bool TryReset()
    {
        _headers = 0;
        return true;
    }
}
