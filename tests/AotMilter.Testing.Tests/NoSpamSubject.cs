namespace AotMilter.Testing.Tests;

/// <summary>The example filter of the README ("Writing a filter"), tested by the README's "Testing your filter".</summary>
[Milter("no-spam-subject", Description = "Rejects mail whose Subject says SPAM")]
public sealed class NoSpamSubject
{
    private static readonly SmtpReply Rejected = SmtpReply.Create(550, "5.7.1", "Spam is not welcome here");
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
    public Verdict End(MessageEditor editor, MilterContext context)
    {
        if (_spam)
        {
            return Verdict.RejectWith(Rejected);
        }

        editor.AddHeader("X-Checked-By", "no-spam-subject");
        return Verdict.Continue;
    }
}
