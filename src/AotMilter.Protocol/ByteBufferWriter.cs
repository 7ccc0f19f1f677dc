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

    public ByteBufferWriter(int initialCapacity = 1024) => _buffer = new byte[initialCapacity];

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
        }
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1)
        {
            sizeHint = 1;
        }

        if (_buffer.Length - _written < sizeHint)
        {
            int newSize = Math.Max(_buffer.Length * 2, _written + sizeHint);
            Array.Resize(ref _buffer, newSize);
        }
    }
}
