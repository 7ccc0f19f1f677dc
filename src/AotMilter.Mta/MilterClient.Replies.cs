using System.Globalization;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>What an MTA checks before sending an event, and how it reads the milter's answers (with the protocol's readers).</summary>
public sealed partial class MilterClient
{
    private NegotiationResult RequireNegotiated(string what)
        => Negotiated ?? throw new InvalidOperationException($"cannot send {what} before option negotiation (call NegotiateAsync first)");

    private void RequireEvent(ProtocolFlags skipBit, string what, uint minVersion = 2)
    {
        NegotiationResult negotiated = RequireNegotiated(what);
        if ((negotiated.DeclinedEvents & skipBit) != 0)
        {
            throw new InvalidOperationException(
                $"the milter declined {what} events in negotiation ({skipBit}, protocol 0x{(uint)negotiated.Protocol:x}); an MTA does not send them");
        }

        if (negotiated.Version < minVersion)
        {
            throw new InvalidOperationException(
                $"{what} events do not exist in milter protocol version {negotiated.Version} (they need version {minVersion})");
        }
    }

    private async Task<MilterReply> SendEventAsync(MilterCommand command, ProtocolFlags noReplyBit)
    {
        using CancellationTokenSource deadline = StartDeadline();
        char letter = (char)command;
        await FlushAsync($"sending '{letter}'", deadline.Token).ConfigureAwait(false);
        if ((Negotiated!.NoReplyEvents & noReplyBit) != 0)
        {
            return MilterReply.NoReply;
        }

        while (true)
        {
            RawFrame frame = await ReadRequiredFrameAsync(letter, deadline.Token).ConfigureAwait(false);
            if (frame.Command == (byte)MilterResponse.Progress)
            {
                if (ProgressOnlyAtEndOfMessage)
                {
                    throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                        $"the milter sent progress ('p') while answering '{letter}'; this MTA accepts it only at end of message");
                }

                ProgressCount++;
                deadline.CancelAfter(Timeout);
                continue;
            }

            if (frame.Command == (byte)MilterResponse.Quarantine && QuarantineAtAnyStage)
            {
                _earlyQuarantine ??= ReadEarlyQuarantine(frame);
                continue;
            }

            if (TryParseReply(frame, out MilterReply? reply))
            {
                return reply;
            }

            throw Unexpected(frame, letter);
        }
    }

    private static string ReadEarlyQuarantine(RawFrame frame)
    {
        MilterModification.TryParse(frame.Command, frame.Payload, out MilterModification quarantine);
        return Encoding.UTF8.GetString(quarantine.Reason);
    }

    /// <summary>Reads an answer to an event; false when the frame is no such answer. Progress is handled by the callers.</summary>
    private bool TryParseReply(RawFrame frame, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MilterReply? reply)
    {
        if (!VerdictReply.TryParse(frame.Command, frame.Payload, out VerdictReply verdict) || verdict.IsProgress)
        {
            reply = null;
            return false;
        }

        reply = verdict.Response switch
        {
            MilterResponse.Continue => MilterReply.Continue,
            MilterResponse.Accept => MilterReply.Accept,
            MilterResponse.Reject => MilterReply.Reject,
            MilterResponse.TempFail => MilterReply.TempFail,
            MilterResponse.Discard => MilterReply.Discard,
            MilterResponse.Shutdown => MilterReply.Shutdown,
            MilterResponse.Skip => MilterReply.Skip,
            _ => MilterReply.WithCode(Encoding.UTF8.GetString(verdict.Text)),
        };
        if (reply.Kind == MilterReplyKind.Skip && (Negotiated!.EffectiveProtocol & ProtocolFlags.Skip) == 0)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                "the milter answered skip ('s') although SKIP was not negotiated");
        }

        return true;
    }

    private static NegotiationResult ParseNegotiation(OptionNegotiation offered, byte[] payload)
    {
        NegotiationReply reply = NegotiationReply.Parse(payload);
        var lists = new Dictionary<MacroStage, string>();
        SymbolListReader reader = reply.SymbolLists;
        while (reader.MoveNext())
        {
            lists[reader.Stage] = Encoding.UTF8.GetString(reader.Names);
        }

        return new NegotiationResult(offered, reply.Options.Version, reply.Options.Actions, reply.Options.Protocol, lists);
    }

    /// <summary>Reads a modification sent at end of message and checks that its action was negotiated, as both MTAs do.</summary>
    private static Modification ParseModification(RawFrame frame, ActionFlags negotiated)
    {
        if (!MilterModification.TryParse(frame.Command, frame.Payload, out MilterModification parsed))
        {
            throw Unexpected(frame, 'E');
        }

        Modification modification = Modification.From(parsed);
        if ((negotiated & parsed.RequiredAction) == 0)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                $"the milter sent '{frame.Letter}' ({modification}) without negotiating the {parsed.RequiredAction} action");
        }

        return modification;
    }

    private static MilterProtocolException Unexpected(RawFrame frame, char replyTo)
        => new(MilterProtocolError.UnexpectedCommand,
            string.Create(CultureInfo.InvariantCulture, $"unexpected frame {frame} from the milter while waiting for the reply to '{replyTo}'"));
}
