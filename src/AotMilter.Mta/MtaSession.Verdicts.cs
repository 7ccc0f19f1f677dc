using AotMilter.Mta.Model;
using AotMilter.Protocol;

namespace AotMilter.Mta;

// What the MTA makes of each answer: the SMTP reply, the end of the message, the modifications applied, the result.
public sealed partial class MtaSession
{
    private StageResult ConnectionVerdict(MilterEvent stage, string argument, MilterReply reply)
    {
        NoteEarlyQuarantine();
        SmtpResponse? smtp = _model.Respond(stage, reply, null);
        if (smtp is not null)
        {
            _refusal = smtp;
            _refusedAt = stage == MilterEvent.Connect ? "connect" : "HELO";
        }
        else if (reply.Kind == MilterReplyKind.Accept)
        {
            _unfilteredAt = $"the milter accepted the whole connection at {(stage == MilterEvent.Connect ? "connect" : "HELO")}";
        }

        return new StageResult(stage, argument, reply, smtp);
    }

    /// <summary>Records an answer at a message stage and ends the message if it decides it.</summary>
    private async Task<StageResult> MessageVerdictAsync(MilterEvent stage, string? argument, MilterReply reply, string? address)
    {
        Transaction tx = _tx!;
        NoteEarlyQuarantine();
        SmtpResponse? smtp = _model.Respond(stage, reply, address);
        SmtpCommand? command = stage switch
        {
            MilterEvent.MailFrom => SmtpCommand.MailFrom,
            MilterEvent.RcptTo => SmtpCommand.RcptTo,
            _ => null,
        };
        var result = new StageResult(stage, argument, reply,
            smtp ?? (command is { } c ? _model.Accepted(c, address, tx.QueueId) : null));
        Record(result);
        if (smtp is not null)
        {
            await AbandonAsync().ConfigureAwait(false);
            Conclude(tx, MessageOutcomeFor(smtp), smtp, result);
        }
        else if (reply.Kind == MilterReplyKind.Discard)
        {
            await AbandonAsync().ConfigureAwait(false);
            Conclude(tx, MessageOutcome.Discarded, _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId), result);
        }
        else if (reply.Kind == MilterReplyKind.Accept)
        {
            tx.Unfiltered = $"the milter accepted the message at {stage}";
            tx.DecidedAt = result;
        }

        return result;
    }

    private static MessageOutcome MessageOutcomeFor(SmtpResponse response) =>
        response.IsPermanentFailure ? MessageOutcome.Rejected : MessageOutcome.TempFailed;

    /// <summary>Ends a message the milter was told about without end of message: ABORT where the MTA sends one.</summary>
    private async Task AbandonAsync()
    {
        if (_tx is { MilterStarted: true })
        {
            _tx.MilterStarted = false;
            await Client.AbortAsync().ConfigureAwait(false);
        }
    }

    private void Conclude(Transaction tx, MessageOutcome outcome, SmtpResponse response, StageResult? decidedAt)
    {
        tx.Finished = true;
        tx.Outcome = outcome;
        tx.FinalResponse = response;
        tx.DecidedAt ??= decidedAt;
        tx.FinishedBecause = decidedAt is null
            ? $"the message was settled ({outcome.ToString().ToLowerInvariant()})"
            : $"the milter decided the message at {decidedAt.Stage} ({decidedAt.Reply})";
    }

    private StageResult Finish(StageResult stage, MessageOutcome outcome, SmtpResponse response)
    {
        Transaction tx = _tx!;
        tx.Stages.Add(stage);
        Conclude(tx, outcome, response, null);
        tx.FinishedBecause = stage.NotSentBecause;
        return stage;
    }

    private void Apply(Transaction tx, IReadOnlyList<Modification> modifications)
    {
        MtaMessage store = tx.Store!;
        bool space = !LeadingSpace;
        foreach (Modification modification in modifications)
        {
            switch (modification)
            {
                case Modification.AddHeader a:
                    store.AddHeader(a.Name, a.Value, space);
                    break;
                case Modification.InsertHeader i:
                    store.InsertHeader(i.Index, i.Name, i.Value, space);
                    break;
                case Modification.ChangeHeader c:
                    store.ChangeHeader(c.Index, c.Name, c.Value, space);
                    break;
                case Modification.ReplaceBody b:
                    store.AppendReplacementBody(b.Chunk);
                    break;
                case Modification.Quarantine q:
                    tx.Quarantine ??= q.Reason;
                    break;
            }
        }

        tx.Outcome = tx.Quarantine is null ? MessageOutcome.Delivered : MessageOutcome.Quarantined;
        tx.FinalResponse = _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId);
        tx.Finished = true;
        tx.FinishedBecause = "the message was accepted";
    }

    private MessageResult Result(Transaction tx)
    {
        if (!tx.Finished && tx.Unfiltered is not null)
        {
            // Accepted before end of message: delivered as received, no edits.
            tx.Finished = true;
            tx.Outcome = tx.Quarantine is null ? MessageOutcome.Delivered : MessageOutcome.Quarantined;
            tx.FinalResponse = _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId);
            tx.FinishedBecause = tx.Unfiltered;
        }

        MessageOutcome outcome = tx.Outcome ?? MessageOutcome.Delivered;
        bool kept = outcome is MessageOutcome.Delivered or MessageOutcome.Quarantined;
        return new MessageResult(
            Profile,
            [.. _connectionStages, .. tx.Stages],
            outcome,
            tx.FinalResponse ?? _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId),
            tx.DecidedAt,
            tx.EndOfMessage,
            tx.Refused,
            tx.Quarantine,
            tx.Progress,
            kept ? FinalEnvelope(tx) : null,
            kept && tx.Store is not null ? tx.Store.Render() : null,
            tx.QueueId);
    }

    /// <summary>The envelope after the milter's changes, with the DSN parameters the MTAs keep.</summary>
    private static Envelope FinalEnvelope(Transaction tx)
    {
        SmtpAddress sender = Dsn(tx.Sender, "RET", "ENVID");
        var recipients = tx.Accepted.Select(r => Dsn(r, "NOTIFY", "ORCPT")).ToList();
        foreach (Modification modification in tx.EndOfMessage?.Modifications ?? [])
        {
            switch (modification)
            {
                case Modification.ChangeSender s:
                    sender = Dsn(new SmtpAddress(SmtpAddress.Strip(s.Address), Words(s.Arguments)), "RET", "ENVID");
                    break;
                case Modification.AddRecipient r:
                    recipients.Add(Dsn(new SmtpAddress(SmtpAddress.Strip(r.Address), Words(r.Arguments)), "NOTIFY", "ORCPT"));
                    break;
                case Modification.DeleteRecipient d:
                    recipients.RemoveAll(r => r.Is(d.Address));
                    break;
            }
        }

        return new Envelope(sender, recipients.DistinctBy(r => r.Address.ToLowerInvariant()).ToList());

        static string[] Words(string? text) => text?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

        static SmtpAddress Dsn(SmtpAddress address, params string[] kept) =>
            address with { Parameters = [.. address.Parameters.Where(p => kept.Any(k => p.StartsWith(k + "=", StringComparison.OrdinalIgnoreCase)))] };
    }


    private void NoteEarlyQuarantine()
    {
        if (Client.TakeEarlyQuarantine() is { } reason && _tx is not null)
        {
            _tx.Quarantine ??= reason;
        }
    }

    private bool Declined(ProtocolFlags skipBit, MilterEvent stage, string? argument, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StageResult? result)
    {
        if ((Negotiation.DeclinedEvents & skipBit) != 0)
        {
            result = NotSent(stage, argument, "the milter declined these events in negotiation");
            return true;
        }

        result = null;
        return false;
    }

    private bool NotFiltered(MilterEvent stage, string? argument, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StageResult? result)
    {
        if (_refusal is not null)
        {
            result = NotSent(stage, argument, $"the connection was refused at {_refusedAt}");
            return true;
        }

        if (_unfilteredAt is not null)
        {
            result = NotSent(stage, argument, _unfilteredAt);
            return true;
        }

        result = null;
        return false;
    }

    private static StageResult NotSent(MilterEvent stage, string? argument, string? because) => new(stage, argument, null, null, because);

    private StageResult Record(StageResult result)
    {
        (_tx?.Stages ?? _connectionStages).Add(result);
        return result;
    }

    private StageResult RecordConnection(StageResult result)
    {
        _connectionStages.Add(result);
        return result;
    }

    private Transaction RequireTransaction(string what) =>
        _tx ?? throw new InvalidOperationException($"{what} needs a message: call MailFromAsync first");

    private Transaction RequireData(string what)
    {
        Transaction tx = RequireTransaction(what);
        if (tx.Store is null)
        {
            if (tx.Finished)
            {
                throw new InvalidOperationException($"cannot send {what}: {tx.FinishedBecause}");
            }

            throw new InvalidOperationException($"{what} comes after DATA: call DataAsync first");
        }

        return tx;
    }
}
