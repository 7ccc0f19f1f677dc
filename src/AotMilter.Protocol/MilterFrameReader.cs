using System.Buffers.Binary;

namespace AotMilter.Protocol;

/// <summary>
/// Splits a byte stream into milter frames.
/// <code>
///  0                   1                   2                   3
/// +-------+-------+-------+-------+-------+-------------------------------+
/// |        length (uint32, BE)    |  cmd  |  payload (length - 1 bytes)   |
/// +-------+-------+-------+-------+-------+-------------------------------+
/// </code>
/// The length counts the command byte, so a frame with no payload has length 1.
/// </summary>
public static class MilterFrameReader
{
    /// <summary>Size of the length field.</summary>
    public const int LengthSize = 4;

    /// <summary>Size of the length field plus the command byte.</summary>
    public const int HeaderSize = LengthSize + 1;

    /// <summary>The largest payload any frame may announce, whatever the configured maximum: a whole frame must fit in an array.</summary>
    public const int MaxPayloadLimit = int.MaxValue - 64;

    /// <summary>
    /// Reads one frame from the start of <paramref name="buffer"/>. Returns false when the buffer does not yet hold a
    /// whole frame (nothing is consumed). The declared length is checked against <paramref name="maxPayloadSize"/>
    /// before any payload is awaited, so an oversized frame fails as soon as its length field arrives.
    /// </summary>
    /// <param name="requiredLength">When false is returned: how many bytes the buffer must hold to make progress.</param>
    /// <param name="maxPayloadSize">The largest payload accepted (at most <see cref="MaxPayloadLimit"/> is used).</param>
    /// <exception cref="MilterProtocolException">The length field is zero, or larger than allowed.</exception>
    public static bool TryReadFrame(ReadOnlySpan<byte> buffer, int maxPayloadSize, out MilterFrame frame, out int frameLength, out int requiredLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxPayloadSize);
        frame = default;
        frameLength = 0;
        if (buffer.Length < LengthSize)
        {
            requiredLength = HeaderSize;
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(buffer);
        if (length == 0)
        {
            MilterProtocolException.Throw(MilterProtocolError.EmptyFrame, "frame length is 0; a frame must carry at least its command byte");
        }

        uint max = Math.Min((uint)maxPayloadSize, MaxPayloadLimit);
        if (length - 1 > max)
        {
            MilterProtocolException.Throw(MilterProtocolError.FrameTooLarge,
                $"frame announces {length - 1} payload bytes; the maximum is {max}");
        }

        int total = LengthSize + (int)length;
        if (buffer.Length < total)
        {
            requiredLength = total;
            return false;
        }

        frame = new MilterFrame(buffer[LengthSize], buffer.Slice(HeaderSize, (int)length - 1));
        frameLength = total;
        requiredLength = 0;
        return true;
    }

    /// <summary>Reads one frame; see the other overload.</summary>
    public static bool TryReadFrame(ReadOnlySpan<byte> buffer, int maxPayloadSize, out MilterFrame frame, out int frameLength)
        => TryReadFrame(buffer, maxPayloadSize, out frame, out frameLength, out _);
}
