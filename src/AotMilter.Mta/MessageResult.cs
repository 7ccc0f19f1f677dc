using System.Text;

namespace AotMilter.Mta;

/// <summary>
/// Everything about one message that went through the kit: the milter's answer at each stage, what became of the
/// message and the reply that settled it, every modification (also sorted by kind), and the message and envelope
/// as the MTA would hand them on. <see cref="ToString"/> is a readable report for assertion messages and the CLI.
/// </summary>
public sealed class MessageResult
{
    internal MessageResult(
        MtaProfile profile,
        IReadOnlyList<StageResult> stages,
        MessageOutcome outcome,
        SmtpResponse finalResponse,
        StageResult? decidedAt,
        EndOfMessageResult? endOfMessage,
        IReadOnlyList<SmtpAddress> refusedRecipients,
        string? quarantineReason,
        int progressCount,
        Envelope? finalEnvelope,
        Email? finalMessage,
        string queueId)
    {
        Profile = profile;
        Stages = stages;
        Outcome = outcome;
        FinalResponse = finalResponse;
        DecidedAt = decidedAt;
        EndOfMessage = endOfMessage;
        RefusedRecipients = refusedRecipients;
        QuarantineReason = quarantineReason;
        ProgressCount = progressCount;
        FinalEnvelope = finalEnvelope;
        FinalMessage = finalMessage;
        QueueId = queueId;
        Modifications = endOfMessage?.Modifications ?? [];
    }

    public MtaProfile Profile { get; }

    /// <summary>Every stage of the transaction, in order, with the milter's answer and the MTA's reply.</summary>
    public IReadOnlyList<StageResult> Stages { get; }

    public MessageOutcome Outcome { get; }

    /// <summary>The reply that settled the message: to the final dot, or the refusal that ended the transaction.</summary>
    public SmtpResponse FinalResponse { get; }

    /// <summary>The stage whose answer decided the message before end of message (accept, reject, tempfail, discard),
    /// or null when end of message (or the MTA itself) decided it.</summary>
    public StageResult? DecidedAt { get; }

    /// <summary>The raw end-of-message exchange (null when the MTA never got there).</summary>
    public EndOfMessageResult? EndOfMessage { get; }

    /// <summary>Every modification, in the order the milter sent them.</summary>
    public IReadOnlyList<Modification> Modifications { get; }

    public IReadOnlyList<Modification.AddHeader> AddedHeaders => [.. Modifications.OfType<Modification.AddHeader>()];

    public IReadOnlyList<Modification.InsertHeader> InsertedHeaders => [.. Modifications.OfType<Modification.InsertHeader>()];

    /// <summary>Changes of a header value (deletions are in <see cref="DeletedHeaders"/>).</summary>
    public IReadOnlyList<Modification.ChangeHeader> ChangedHeaders => [.. Modifications.OfType<Modification.ChangeHeader>().Where(c => !c.IsDelete)];

    public IReadOnlyList<Modification.ChangeHeader> DeletedHeaders => [.. Modifications.OfType<Modification.ChangeHeader>().Where(c => c.IsDelete)];

    public IReadOnlyList<Modification.AddRecipient> AddedRecipients => [.. Modifications.OfType<Modification.AddRecipient>()];

    public IReadOnlyList<string> DeletedRecipients => [.. Modifications.OfType<Modification.DeleteRecipient>().Select(d => d.Address)];

    /// <summary>The last sender change, or null.</summary>
    public Modification.ChangeSender? NewSender => Modifications.OfType<Modification.ChangeSender>().LastOrDefault();

    /// <summary>The replacement body the milter sent (all chunks joined), or null.</summary>
    public byte[]? ReplacedBody => EndOfMessage?.ReplacedBody;

    /// <summary>The quarantine reason (at end of message, or with Postfix at any stage), or null.</summary>
    public string? QuarantineReason { get; }

    /// <summary>Progress frames the milter sent while the MTA waited.</summary>
    public int ProgressCount { get; }

    /// <summary>Recipients the milter refused at RCPT TO (reject or tempfail of that recipient).</summary>
    public IReadOnlyList<SmtpAddress> RefusedRecipients { get; }

    /// <summary>The envelope the MTA hands on (sender and recipients after the milter's changes, with the DSN
    /// parameters the MTA keeps: RET and ENVID, NOTIFY and ORCPT); null when the message was not accepted.</summary>
    public Envelope? FinalEnvelope { get; }

    /// <summary>The message as the MTA would relay it, its own Received: first (null when it is not accepted). Held
    /// (quarantined) messages have one too: the message as it would leave once released.</summary>
    public Email? FinalMessage { get; }

    /// <summary>The queue id the kit made up for this message (macro i).</summary>
    public string QueueId { get; }

    public bool Accepted => Outcome is MessageOutcome.Delivered or MessageOutcome.Quarantined or MessageOutcome.Discarded;

    /// <summary>The final message's headers and body as text (UTF-8, LF line ends), without the MTA's Received:.</summary>
    public string? FinalText
    {
        get
        {
            if (FinalMessage is null)
            {
                return null;
            }

            var text = new StringBuilder();
            foreach (EmailHeader header in FinalMessage.Headers.Skip(1))
            {
                text.Append(header).Append('\n');
            }

            text.Append('\n').Append(FinalMessage.BodyText.Replace("\r\n", "\n", StringComparison.Ordinal));
            return text.ToString();
        }
    }

    /// <summary>A report: each stage, each modification, the outcome and the resulting message.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("MTA: ").Append(Profile.Name).Append('\n');
        foreach (StageResult stage in Stages)
        {
            text.Append("  ").Append(stage).Append('\n');
        }

        if (Modifications.Count > 0)
        {
            text.Append("modifications:\n");
            foreach (Modification m in Modifications)
            {
                text.Append("  ").Append(Describe(m)).Append('\n');
            }
        }

        if (ProgressCount > 0)
        {
            text.Append("progress: ").Append(ProgressCount).Append('\n');
        }

        text.Append("outcome: ").Append(Outcome.ToString().ToLowerInvariant());
        if (QuarantineReason is not null)
        {
            text.Append(" (quarantine: ").Append(QuarantineReason).Append(')');
        }

        text.Append('\n').Append(FinalResponse).Append('\n');
        if (FinalEnvelope is not null)
        {
            text.Append("envelope: ").Append(FinalEnvelope).Append('\n');
        }

        if (FinalMessage is not null)
        {
            text.Append("message:\n").Append(Encoding.UTF8.GetString(FinalMessage.ToBytes()).Replace("\r\n", "\n", StringComparison.Ordinal));
        }

        return text.ToString();
    }

    private static string Describe(Modification m) => m switch
    {
        Modification.AddHeader a => $"add header {a.Name}: {Escape(a.Value)}",
        Modification.InsertHeader i => $"insert header at {i.Index} {i.Name}: {Escape(i.Value)}",
        Modification.ChangeHeader { IsDelete: true } d => $"delete header {d.Name} #{d.Index}",
        Modification.ChangeHeader c => $"change header {c.Name} #{c.Index}: {Escape(c.Value)}",
        Modification.AddRecipient { Arguments: null } r => $"add recipient {r.Address}",
        Modification.AddRecipient r => $"add recipient {r.Address} {r.Arguments}",
        Modification.DeleteRecipient r => $"delete recipient {r.Address}",
        Modification.ChangeSender { Arguments: null } s => $"change sender {s.Address}",
        Modification.ChangeSender s => $"change sender {s.Address} {s.Arguments}",
        Modification.Quarantine q => $"quarantine: {q.Reason}",
        Modification.ReplaceBody b => $"replace body: {b.Chunk.Length} bytes",
        _ => m.ToString(),
    };

    private static string Escape(string value) => value.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
}
