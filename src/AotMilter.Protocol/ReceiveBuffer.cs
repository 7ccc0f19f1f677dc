namespace AotMilter.Protocol;

/// <summary>
/// A receive buffer for a frame reader: bytes arrive at <see cref="End"/>, frames are taken from <see cref="Start"/>,
/// and <see cref="MakeRoom"/> moves the unread tail to the front and grows the array (doubling, never past
/// <see cref="MaxCapacity"/> unless one frame needs more) when the next frame does not fit. Steady state allocates
/// nothing. Not thread-safe.
/// </summary>
public sealed class ReceiveBuffer
{
    private byte[] _buffer;

    public ReceiveBuffer(int initialCapacity, int maxCapacity = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialCapacity);
        _buffer = new byte[initialCapacity];
        MaxCapacity = maxCapacity;
    }

    /// <summary>Where doubling stops: beyond it the buffer grows only to the exact size a frame asks for.</summary>
    public int MaxCapacity { get; }

    public int Start { get; private set; }

    public int End { get; private set; }

    public int Capacity => _buffer.Length;

    /// <summary>The bytes received and not yet consumed.</summary>
    public ReadOnlySpan<byte> Unread => _buffer.AsSpan(Start, End - Start);

    public int UnreadLength => End - Start;

    /// <summary>Where the next bytes go (after <see cref="MakeRoom"/>); call <see cref="Commit"/> with what was received.</summary>
    public Memory<byte> FreeMemory => _buffer.AsMemory(End);

    /// <summary>The whole array, for callers that hand it to a native receive at <see cref="End"/>.</summary>
    public byte[] Array => _buffer;

    /// <summary>Marks <paramref name="count"/> received bytes as written at <see cref="End"/>.</summary>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)(_buffer.Length - End), nameof(count));
        End += count;
    }

    /// <summary>Consumes <paramref name="count"/> bytes at <see cref="Start"/>; an emptied buffer starts over at 0.</summary>
    public void Consume(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)(End - Start), nameof(count));
        Start += count;
        if (Start == End)
        {
            Start = End = 0;
        }
    }

    /// <summary>Forgets everything unread (a new connection).</summary>
    public void Clear() => Start = End = 0;

    /// <summary>
    /// Makes the unread bytes start at 0 with room after them for at least one more byte and for a whole frame of
    /// <paramref name="required"/> bytes (what <see cref="MilterFrameReader.TryReadFrame(ReadOnlySpan{byte}, int, out MilterFrame, out int, out int)"/>
    /// says it needs). Frames already taken must be done with: their bytes may be overwritten.
    /// </summary>
    public void MakeRoom(int required)
    {
        int pending = End - Start;
        int wanted = Math.Max(required, pending + 1);
        if (wanted > _buffer.Length)
        {
            int doubled = (int)Math.Min((long)_buffer.Length * 2, Math.Max(MaxCapacity, _buffer.Length));
            byte[] bigger = new byte[Math.Max(wanted, doubled)];
            _buffer.AsSpan(Start, pending).CopyTo(bigger);
            _buffer = bigger;
        }
        else if (Start > 0)
        {
            _buffer.AsSpan(Start, pending).CopyTo(_buffer);
        }
        else
        {
            return;
        }

        Start = 0;
        End = pending;
    }
}
