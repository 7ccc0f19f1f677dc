using System.Buffers.Binary;
using System.Diagnostics;
using AotMilter.Protocol;

namespace AotMilter.Cli.Bench;

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

    private enum ReadStatus : byte
    {
        Frame,
        NeedMore,
        Bad,
    }

    /// <summary>Takes the next whole reply frame from the receive buffer, or makes room for more bytes.</summary>
    private ReadStatus TryReadFrame(out byte command, out int payloadOffset, out int payloadLength)
    {
        command = 0;
        payloadOffset = 0;
        payloadLength = 0;
        int available = _inEnd - _inStart;
        int needed = MilterFrameReader.LengthSize;
        if (available >= MilterFrameReader.LengthSize)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(_in.AsSpan(_inStart));
            if (length is 0 or > MaxReplyLength)
            {
                return ReadStatus.Bad;
            }

            needed = MilterFrameReader.LengthSize + (int)length;
            if (available >= needed)
            {
                command = _in[_inStart + MilterFrameReader.LengthSize];
                payloadOffset = _inStart + MilterFrameReader.HeaderSize;
                payloadLength = (int)length - 1;
                _inStart += needed;
                return ReadStatus.Frame;
            }
        }

        // The previous frame has been handled: its bytes may be overwritten.
        if (_inStart > 0)
        {
            _in.AsSpan(_inStart, available).CopyTo(_in);
            _inStart = 0;
            _inEnd = available;
        }

        if (needed > _in.Length)
        {
            Array.Resize(ref _in, Math.Max(needed, _in.Length * 2));
        }

        return ReadStatus.NeedMore;
    }

    /// <summary>Checks one reply against the awaited step, as milter-load does.</summary>
    private Outcome OnReply(Step awaited, byte command, ReadOnlySpan<byte> payload)
    {
        if (command == (byte)MilterResponse.Progress)
        {
            _run.ProgressSeen();
            return Outcome.Wait;
        }

        switch (awaited)
        {
            case Step.Negotiate:
                return OnNegotiated(command, payload);
            case Step.Rcpt when _run.Settings.ExpectReject:
                if (command == (byte)MilterResponse.Reject || (command == (byte)MilterResponse.ReplyCode && payload.Length > 0 && payload[0] == (byte)'5'))
                {
                    MessageFinished(rejected: true);
                    return Outcome.Proceed;
                }

                return Fail($"expected a reject at rcpt, got {Describe(command)}");
            case Step.Body:
                if (command == (byte)MilterResponse.Skip && (_protocol & ProtocolFlags.Skip) != 0)
                {
                    _body = _packets.Body.Length; // the milter has seen enough of the body
                    return Outcome.Proceed;
                }

                return command == (byte)MilterResponse.Continue ? Outcome.Proceed : Fail($"unexpected reply {Describe(command)} at body");
            case Step.EndOfMessage:
                return OnEndOfMessageReply(command, payload);
            default:
                return command == (byte)MilterResponse.Continue
                    ? Outcome.Proceed
                    : Fail($"unexpected reply {Describe(command)} at {Name(awaited)}");
        }
    }

    private Outcome OnNegotiated(byte command, ReadOnlySpan<byte> payload)
    {
        if (command != (byte)MilterCommand.OptionNegotiation || payload.Length < OptionNegotiation.PayloadSize)
        {
            return Fail($"bad negotiation reply {Describe(command)} of {payload.Length} bytes");
        }

        OptionNegotiation reply = OptionNegotiation.Parse(payload);
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

    private Outcome OnEndOfMessageReply(byte command, ReadOnlySpan<byte> payload)
    {
        switch ((MilterResponse)command)
        {
            case MilterResponse.AddHeader:
            case MilterResponse.InsertHeader:
            {
                // add: name\0value\0; insert: index:u32 name\0value\0
                if (command == (byte)MilterResponse.InsertHeader)
                {
                    if (payload.Length < 4)
                    {
                        return Fail("truncated insert-header reply at eom");
                    }

                    payload = payload[4..];
                }

                int nul = payload.IndexOf((byte)0);
                if (nul < 0)
                {
                    return Fail($"malformed {Describe(command)} reply at eom");
                }

                ReadOnlySpan<byte> name = payload[..nul];
                ReadOnlySpan<byte> value = payload[(nul + 1)..];
                int end = value.IndexOf((byte)0);
                value = end < 0 ? value : value[..end];
                if (_packets.ExpectedHeaderName.Length > 0 && System.Text.Ascii.EqualsIgnoreCase(name, _packets.ExpectedHeaderName))
                {
                    if (_run.Settings.ChecksBenchHeader)
                    {
                        value = value.TrimStart(" \t"u8);
                        if (!value.SequenceEqual(_packets.BenchHeaderValue))
                        {
                            return Fail($"{_run.Settings.ExpectHeader} is '{System.Text.Encoding.UTF8.GetString(value)}', expected '{System.Text.Encoding.ASCII.GetString(_packets.BenchHeaderValue)}'");
                        }
                    }

                    _gotHeader = true;
                }
                else
                {
                    _run.ModificationSeen();
                }

                return Outcome.Wait;
            }

            case MilterResponse.AddRecipient:
            case MilterResponse.DeleteRecipient:
            case MilterResponse.AddRecipientWithArgs:
            case MilterResponse.ReplaceBody:
            case MilterResponse.ChangeSender:
            case MilterResponse.ChangeHeader:
            case MilterResponse.Quarantine:
                _run.ModificationSeen();
                return Outcome.Wait;
            case MilterResponse.Accept:
            case MilterResponse.Continue:
                if (_packets.ExpectedHeaderName.Length > 0 && !_gotHeader)
                {
                    return Fail($"message finished without the {_run.Settings.ExpectHeader} header");
                }

                MessageFinished(rejected: false);
                return Outcome.Proceed;
            default:
                return Fail($"unexpected reply {Describe(command)} at eom");
        }
    }

    private void MessageFinished(bool rejected)
    {
        _run.MessageFinished(Stopwatch.GetElapsedTime(_messageStart), rejected, _gotHeader);
        _step = Step.MessageDone;
    }

    private Outcome Fail(string reason)
    {
        _run.Error($"conn {_id}: {reason}");
        return Outcome.Failed;
    }

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
