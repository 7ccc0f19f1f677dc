using System.Text;
using AotMilter;

namespace Acme.Milter.Filters;

/// <summary>
/// The sample filter: refuses senders of a blocked domain at MAIL FROM, and marks every message it lets through with
/// an "X-Acme-Milter: checked" header. One instance serves one SMTP connection, so fields would be per-connection
/// state; this one needs none.
/// </summary>
[Milter("acme-milter", Description = "Refuses senders of a blocked domain; marks the rest")]
public sealed class SenderCheckFilter
{
    private static readonly SmtpReply Refused = SmtpReply.Create(550, "5.7.1", "Your domain may not send mail here");

    [OnMailFrom]
    public Verdict MailFrom(EnvelopeAddress sender)
    {
        ReadOnlySpan<byte> address = sender.Address.Bytes;
        ReadOnlySpan<byte> blocked = "@spam.example"u8;
        return address.Length >= blocked.Length && Ascii.EqualsIgnoreCase(address[^blocked.Length..], blocked)
            ? Verdict.RejectWith(Refused)
            : Verdict.Continue;
    }

    [OnEndOfMessage]
    public Verdict End(MessageEditor editor)
    {
        editor.AddHeader("X-Acme-Milter", "checked");
        return Verdict.Continue;
    }
}
