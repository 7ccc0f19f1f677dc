using System.Buffers;

namespace AotMilter.Filters.Mime;

/// <summary>
/// Collects a message body chunk by chunk up to a limit, in one pooled array that grows by doubling. Past the limit
/// it stops collecting and says so (<see cref="Overflowed"/>; the filter then passes the message, or reads only the
/// start, and logs it); <see cref="Reset"/> returns the memory to the pool, so a connection holds no large buffer
/// between messages.
/// <para>
/// Memory for a body of S bytes (S at most <see cref="Limit"/>): one array of P bytes, P the power of two at or above
/// S (what the shared pool hands out; above 1 MiB the GC, and it is not pooled), and the smaller arrays it grew
/// through, back in the pool (or to the GC) for the next message: at most 2P, under 4S, once per concurrently
/// collected body.
/// </para>
/// </summary>
public sealed class BodyBuffer
{
    // Larger arrays come from the GC, not the shared pool: the pool keeps what it is given for ever, so a burst of
    // large bodies would stay in the daemon's resident size after the messages are gone.
    private const int MaxPooledSize = 1024 * 1024;

    private byte[] _buffer = [];
    private int _length;

    public BodyBuffer(long limit) => Limit = limit;

    public long Limit { get; }

    /// <summary>The bytes collected so far.</summary>
    public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, _length);

    /// <summary>How many bytes were collected (the length of <see cref="Content"/>).</summary>
    public int Length => _length;

    /// <summary>Every byte offered so far, collected or not.</summary>
    public long TotalLength { get; private set; }

    /// <summary>True once more than <see cref="Limit"/> bytes were offered: <see cref="Content"/> is only the start.</summary>
    public bool Overflowed { get; private set; }

    public void Append(ReadOnlySpan<byte> chunk)
    {
        TotalLength += chunk.Length;
        if (Overflowed)
        {
            return;
        }

        if (_length + (long)chunk.Length > Limit)
        {
            Overflowed = true;
            chunk = chunk[..(int)(Limit - _length)];
        }

        if (_length + chunk.Length > _buffer.Length)
        {
            int size = (int)Math.Min(Math.Max(Math.Max(_buffer.Length * 2L, _length + (long)chunk.Length), 16 * 1024), Math.Max(Limit, 16 * 1024));
            byte[] bigger = size <= MaxPooledSize ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            Return();
            _buffer = bigger;
        }

        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;
    }

    public void Reset()
    {
        Return();
        _buffer = [];
        _length = 0;
        TotalLength = 0;
        Overflowed = false;
    }

    private void Return()
    {
        if (_buffer.Length is > 0 and <= MaxPooledSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
