using System.Diagnostics;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>The replies: framing in the receive buffer, and each reply checked against the step that awaited it.</summary>
internal sealed partial class BenchConnection
{
    private const int MaxReplyLength = 64 * 1024 * 1024;

    private enum Outcome : byte
    {
        Wait,
        Proceed,
        Failed,
    }

    /// <summary>
    /// Takes the next whole reply frame from the receive buffer and checks it. <paramref name="required"/> is 0 when a
    /// frame was handled, else how many bytes the buffer must hold for the next one. A malformed reply is a failure.
    /// </summary>
    private Outcome TakeReply(out int required)
    {
        try
        {
            if (!MilterFrameReader.TryReadFrame(_in.Unread, MaxReplyLength, out MilterFrame frame, out int length, out required))
            {
                return Outcome.Wait;
            }

            Outcome outcome = OnReply(_next, frame.Command, frame.Payload);
            _in.Consume(length);
            return outcome;
        }
        catch (MilterProtocolException ex)
        {
            required = 0;
            return Fail($"bad reply while waiting for {Name(_next)}: {ex.Message}");
        }
    }

    /// <summary>Checks one reply against the awaited step, as milter-load does.</summary>
    private Outcome OnReply(Step awaited, byte command, ReadOnlySpan<byte> payload)
    {
        if (VerdictReply.TryParse(command, payload, out VerdictReply verdict))
        {
            if (verdict.IsProgress)
            {
                _run.ProgressSeen();
                return Outcome.Wait;
            }

            return OnVerdict(awaited, verdict);
        }

        if (awaited == Step.Negotiate && command == (byte)MilterResponse.OptionNegotiation)
        {
            return OnNegotiated(NegotiationReply.Parse(payload).Options);
        }

        if (awaited == Step.EndOfMessage && MilterModification.TryParse(command, payload, out MilterModification modification))
        {
            return OnModification(modification);
        }

        return Fail($"unexpected reply {Describe(command)} at {Name(awaited)}");
    }

    private Outcome OnVerdict(Step awaited, VerdictReply verdict)
    {
        byte command = (byte)verdict.Response;
        switch (awaited)
        {
            case Step.Rcpt when _run.Settings.ExpectReject:
                if (verdict.IsRejection)
                {
                    MessageFinished(BenchVerdict.Reject);
                    return Outcome.Proceed;
                }

                return Fail($"expected a reject at rcpt, got {Describe(command)}");
            case Step.Body when verdict.Response == MilterResponse.Skip && (_protocol & ProtocolFlags.Skip) != 0:
                _body = _message.Body.Length; // the milter has seen enough of the body
                return Outcome.Proceed;
            case Step.Mail or Step.Rcpt or Step.Data or Step.Header or Step.EndOfHeaders or Step.Body when verdict.Response == MilterResponse.Continue:
                return Outcome.Proceed;
            case Step.Mail or Step.Rcpt or Step.Data or Step.Header or Step.EndOfHeaders or Step.Body or Step.EndOfMessage:
                // The message's verdict, wherever the milter gave it (continue at end of message is accept).
                return OnMessageVerdict(awaited, verdict);
            default:
                return verdict.Response == MilterResponse.Continue
                    ? Outcome.Proceed
                    : Fail($"unexpected reply {Describe(command)} at {Name(awaited)}");
        }
    }

    /// <summary>The verdict that ends a message, checked against the one it must get; the conversation goes on either way.</summary>
    private Outcome OnMessageVerdict(Step awaited, VerdictReply verdict)
    {
        BenchVerdict got;
        switch (verdict.Response)
        {
            case MilterResponse.Accept or MilterResponse.Continue:
                got = BenchVerdict.Accept;
                break;
            case MilterResponse.Reject:
                got = BenchVerdict.Reject;
                break;
            case MilterResponse.TempFail:
                got = BenchVerdict.TempFail;
                break;
            case MilterResponse.Discard:
                got = BenchVerdict.Discard;
                break;
            case MilterResponse.ReplyCode when verdict.Code is >= 400 and < 600:
                got = verdict.Code >= 500 ? BenchVerdict.Reject : BenchVerdict.TempFail;
                break;
            default:
                return Fail($"unexpected reply {Describe((byte)verdict.Response)} at {Name(awaited)}");
        }

        if (got != _message.Expect)
        {
            _run.Mismatch($"conn {_id}: {_message.Name}: expected {BenchMessageFile.Name(_message.Expect)}, got {DescribeVerdict(verdict)} at {Name(awaited)}");
        }
        else if (got == BenchVerdict.Accept && _packets.ExpectedHeaderName.Length > 0 && !_gotHeader)
        {
            return Fail($"message finished without the {_run.Settings.ExpectHeader} header");
        }

        MessageFinished(got);
        return Outcome.Proceed;
    }

    private Outcome OnNegotiated(OptionNegotiation reply)
    {
        _run.Negotiated(reply);
        _version = reply.Version;
        _protocol = reply.Protocol;
        BenchSettings settings = _run.Settings;
        if (reply.Version is < 2 or > 6)
        {
            return Fail($"unsupported protocol version {reply.Version}");
        }

        if ((reply.Protocol & ~settings.OfferProtocol) != 0 || (reply.Actions & ~settings.OfferActions) != 0)
        {
            return Fail($"filter wants flags not offered (actions 0x{(uint)reply.Actions:x} protocol 0x{(uint)reply.Protocol:x})");
        }

        if (reply.Version < 6)
        {
            // No-reply flags and skip exist only in version 6.
            _protocol &= ~(ProtocolFlags.AllNoReplies | ProtocolFlags.Skip);
        }

        _step = Step.Connect;
        return Outcome.Proceed;
    }

    /// <summary>A modification at end of message: the expected header is checked, anything else is counted.</summary>
    private Outcome OnModification(MilterModification modification)
    {
        bool header = modification.Kind is MilterResponse.AddHeader or MilterResponse.InsertHeader;
        if (!header || _packets.ExpectedHeaderName.Length == 0 || !System.Text.Ascii.EqualsIgnoreCase(modification.Name, _packets.ExpectedHeaderName))
        {
            _run.ModificationSeen();
            return Outcome.Wait;
        }

        if (_run.Settings.ChecksBenchHeader)
        {
            ReadOnlySpan<byte> value = modification.Value.TrimStart(" \t"u8);
            if (!value.SequenceEqual(_message.HeaderCount))
            {
                return Fail($"{_run.Settings.ExpectHeader} is '{System.Text.Encoding.UTF8.GetString(value)}', expected '{System.Text.Encoding.ASCII.GetString(_message.HeaderCount)}'");
            }
        }

        _gotHeader = true;
        return Outcome.Wait;
    }

    private void MessageFinished(BenchVerdict verdict)
    {
        _run.MessageFinished(Stopwatch.GetElapsedTime(_messageStart), verdict, _gotHeader);
        _step = Step.MessageDone;
    }

    private Outcome Fail(string reason)
    {
        _run.Error($"conn {_id}: {reason}");
        return Outcome.Failed;
    }

    /// <summary>A verdict as the error text names it: accept, reject, ..., or a reply code with its text.</summary>
    private static string DescribeVerdict(VerdictReply verdict) => verdict.Response switch
    {
        MilterResponse.Accept => "accept",
        MilterResponse.Continue => "continue",
        MilterResponse.Reject => "reject",
        MilterResponse.TempFail => "tempfail",
        MilterResponse.Discard => "discard",
        _ => $"reply code \"{System.Text.Encoding.UTF8.GetString(verdict.Text.TrimEnd((byte)0))}\"",
    };

    private static string Describe(byte command) => command is >= 0x20 and < 0x7f ? $"'{(char)command}'" : $"0x{command:x2}";

    private static string Name(Step step) => step switch
    {
        Step.Connecting => "connect()",
        Step.Negotiate => "optneg",
        Step.Connect => "connect",
        Step.Helo => "helo",
        Step.Mail => "mail",
        Step.Rcpt => "rcpt",
        Step.Data => "data",
        Step.Header => "header",
        Step.EndOfHeaders => "eoh",
        Step.Body => "body",
        Step.EndOfMessage => "eom",
        _ => step.ToString().ToLowerInvariant(),
    };
}
