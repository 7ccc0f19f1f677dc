using System.Buffers;

namespace AotMilter.Protocol;

/// <summary>
/// A reply that answers an event, read on the MTA side: continue, accept, reject, tempfail, discard, skip,
/// shutdown, the custom reply code (<c>y</c>, <c>"ddd x.y.z text"\0</c>, several lines joined by CRLF), and progress
/// (<c>p</c>, which answers nothing but restarts the MTA's timer). Only <c>y</c> has a payload.
/// </summary>
public readonly ref struct VerdictReply
{
    private VerdictReply(MilterResponse response, ReadOnlySpan<byte> text)
    {
        Response = response;
        Text = text;
    }

    public MilterResponse Response { get; }

    /// <summary>The reply text of <see cref="MilterResponse.ReplyCode"/>, without its NUL; empty otherwise.</summary>
    public ReadOnlySpan<byte> Text { get; }

    /// <summary>True for <c>p</c>: not an answer, the answer is still to come.</summary>
    public bool IsProgress => Response == MilterResponse.Progress;

    /// <summary>The three-digit SMTP code of a reply-code reply; 0 for every other reply.</summary>
    public int Code => Response == MilterResponse.ReplyCode ? ((Text[0] - '0') * 100) + ((Text[1] - '0') * 10) + (Text[2] - '0') : 0;

    /// <summary>True for <c>r</c> and a 5xx reply code.</summary>
    public bool IsRejection => Response == MilterResponse.Reject || Code >= 500;

    /// <summary>A reply without payload (everything but <see cref="MilterResponse.ReplyCode"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="response"/> is not such a reply.</exception>
    public static VerdictReply Of(MilterResponse response)
    {
        if (!IsEmptyReply((byte)response))
        {
            throw new ArgumentOutOfRangeException(nameof(response), response, "not a reply without payload");
        }

        return new VerdictReply(response, default);
    }

    /// <summary>A custom reply, <c>"550 5.7.1 text"</c> as sent on the wire.</summary>
    /// <exception cref="MilterProtocolException">The text does not start with a 4xx or 5xx code.</exception>
    public static VerdictReply WithCode(ReadOnlySpan<byte> text)
    {
        CheckReplyCode(text);
        return new VerdictReply(MilterResponse.ReplyCode, text);
    }

    /// <summary>
    /// Reads the reply a frame carries. False (and nothing thrown) when <paramref name="command"/> is not one of these
    /// replies, so the caller can try <see cref="MilterModification.TryParse"/> or report the frame.
    /// </summary>
    /// <exception cref="MilterProtocolException">The payload does not fit the reply.</exception>
    public static bool TryParse(byte command, ReadOnlySpan<byte> payload, out VerdictReply reply)
    {
        if (command == (byte)MilterResponse.ReplyCode)
        {
            ReadOnlySpan<byte> rest = payload;
            ReadOnlySpan<byte> text = NulString.Read(ref rest, "reply code text");
            MilterModification.ExpectEnd(rest, command);
            CheckReplyCode(text);
            reply = new VerdictReply(MilterResponse.ReplyCode, text);
            return true;
        }

        if (!IsEmptyReply(command))
        {
            reply = default;
            return false;
        }

        MilterModification.ExpectEnd(payload, command);
        reply = new VerdictReply((MilterResponse)command, default);
        return true;
    }

    /// <summary>Writes the reply as a frame.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        if (Response == MilterResponse.ReplyCode)
        {
            Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)Response, Text.Length + 1);
            MilterFrameWriter.PutBytes(ref span, Text);
            writer.Advance(MilterFrameReader.HeaderSize + Text.Length + 1);
        }
        else
        {
            MilterFrameWriter.WriteEmpty(writer, (byte)Response);
        }
    }

    public override string ToString() => Response == MilterResponse.ReplyCode
        ? $"'y' \"{System.Text.Encoding.UTF8.GetString(Text).Replace("\r\n", "\\r\\n", StringComparison.Ordinal)}\""
        : $"'{(char)Response}'";

    private static bool IsEmptyReply(byte command) => (MilterResponse)command is MilterResponse.Continue or MilterResponse.Accept
        or MilterResponse.Reject or MilterResponse.TempFail or MilterResponse.Discard or MilterResponse.Skip
        or MilterResponse.Shutdown or MilterResponse.Progress;

    private static void CheckReplyCode(ReadOnlySpan<byte> text)
    {
        if (text.Length < 3 || text[0] is not ((byte)'4' or (byte)'5') || !char.IsAsciiDigit((char)text[1])
            || !char.IsAsciiDigit((char)text[2]) || (text.Length > 3 && text[3] is not ((byte)' ' or (byte)'-')))
        {
            MilterProtocolException.Throw(MilterProtocolError.MalformedReplyCode,
                $"'{System.Text.Encoding.UTF8.GetString(text)}' is not an SMTP reply with a 4xx or 5xx code");
        }
    }
}
