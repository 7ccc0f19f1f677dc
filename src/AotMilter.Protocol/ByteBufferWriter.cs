using System.Buffers;

namespace AotMilter.Protocol;

/// <summary>
/// A growable, reusable output buffer. The connection writes a batch of frames into it, sends
/// <see cref="WrittenMemory"/> and calls <see cref="Reset"/>; the array is kept, so steady state allocates nothing.
/// </summary>
public sealed class ByteBufferWriter : IBufferWriter<byte>
{
    private byte[] _buffer;
    private int _written;
    private long _reserved;

    public ByteBufferWriter(int initialCapacity = 1024) => _buffer = new byte[initialCapacity];

    /// <summary>
    /// Where capacity beyond <see cref="UnreservedCapacity"/> is reserved before the buffer grows to it (the daemon's
    /// memory budget: a reply the peer does not take stays here until it does). Null: nothing is reserved.
    /// </summary>
    public IMemoryReservation? Budget { get; set; }

    /// <summary>The capacity held without a reservation (the working size kept between batches).</summary>
    public int UnreservedCapacity { get; set; } = int.MaxValue;

    /// <summary>Bytes reserved from <see cref="Budget"/> now.</summary>
    public long Reserved => _reserved;

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public int Capacity => _buffer.Length;

    public void Reset() => _written = 0;

    /// <summary>Forgets everything written after <paramref name="count"/> bytes (used to drop a failed filter's edits).</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)_written, nameof(count));
        _written = count;
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_written + count, _buffer.Length, nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Drops a buffer that grew past <paramref name="maxRetained"/> bytes, so one huge message does not pin memory.</summary>
    public void ShrinkTo(int maxRetained)
    {
        if (_written == 0 && _buffer.Length > maxRetained)
        {
            _buffer = new byte[maxRetained];
            Rebalance(_buffer.Length);
        }
    }

    /// <summary>
    /// Makes room for <paramref name="sizeHint"/> more bytes at once, reserving what goes beyond
    /// <see cref="UnreservedCapacity"/> first; false, and nothing changed, when the budget has no room for it.
    /// </summary>
    public bool TryReserveRoom(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (_buffer.Length - _written >= sizeHint)
        {
            return true;
        }

        int newSize = NewSize(sizeHint);
        long extra = Math.Max(0, (long)newSize - UnreservedCapacity) - _reserved;
        if (extra > 0 && Budget is IMemoryReservation budget)
        {
            if (!budget.TryReserve(extra))
            {
                return false;
            }

            _reserved += extra;
        }

        Array.Resize(ref _buffer, newSize);
        return true;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1)
        {
            sizeHint = 1;
        }

        if (_buffer.Length - _written < sizeHint)
        {
            // Frames are written whole, so a small write cannot be refused halfway: it grows and reserves what the
            // budget has. Large writes (a replaced body) ask first with TryReserveRoom, which can say no.
            int newSize = NewSize(sizeHint);
            Array.Resize(ref _buffer, newSize);
            long wanted = Math.Max(0, (long)newSize - UnreservedCapacity) - _reserved;
            if (wanted > 0 && Budget is IMemoryReservation budget && budget.TryReserve(wanted))
            {
                _reserved += wanted;
            }
        }
    }

    private int NewSize(int sizeHint) => (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_written + sizeHint));

    /// <summary>Gives back the reservation beyond what a buffer of <paramref name="capacity"/> bytes needs.</summary>
    private void Rebalance(int capacity)
    {
        long needed = Math.Max(0, (long)capacity - UnreservedCapacity);
        if (_reserved > needed)
        {
            Budget?.Release(_reserved - needed);
            _reserved = needed;
        }
    }
}
