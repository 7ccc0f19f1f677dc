using AotMilter;

namespace Acme.Milter.Filters;

/// <summary>
/// The sample filter: refuses mail whose Subject says SPAM and marks every other message with an
/// "X-Acme-Milter: checked" header. One instance serves one SMTP connection, so fields are per-connection state.
/// </summary>
[Milter("acme-milter", Description = "Refuses mail whose Subject says SPAM; marks the rest")]
public sealed class SubjectTagFilter
{
    private static readonly SmtpReply Refused = SmtpReply.Create(550, "5.7.1", "Spam is not welcome here");
    private bool _spam;

    [OnMailFrom]
    public void NewMessage() => _spam = false;

    [OnHeader]
    public void Header(HeaderField header)
    {
        if (header.NameIs("Subject") && header.Value.IndexOf("SPAM"u8) >= 0)
        {
            _spam = true;
        }
    }

    [OnEndOfMessage]
    public Verdict End(MessageEditor editor)
    {
        if (_spam)
        {
            return Verdict.RejectWith(Refused);
        }

        editor.AddHeader("X-Acme-Milter", "checked");
        return Verdict.Continue;
    }
}
