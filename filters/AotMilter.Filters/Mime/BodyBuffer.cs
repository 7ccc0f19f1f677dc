using System.Buffers;
using AotMilter.Protocol;

namespace AotMilter.Filters.Mime;

/// <summary>
/// Collects a message body chunk by chunk up to a limit, in one array that grows by doubling. Past the limit it stops
/// collecting and says so (<see cref="Overflowed"/>; the filter then passes the message, or reads only the start, and
/// logs it); <see cref="Reset"/> gives the memory back, so a connection holds no large buffer between messages.
/// <para>
/// Up to <see cref="WorkingSize"/> the array comes from the shared pool. A larger one is reserved from the daemon's
/// memory budget first (the budget passed to <see cref="Append"/>, from <see cref="MilterContext.MemoryBudget"/>)
/// and comes from the GC: the shared pool keeps what it is given, so a burst of large bodies would stay in the
/// daemon's resident size, outside any bound, after the messages are gone. When the budget has no room the buffer
/// stops collecting as at its limit (<see cref="OverBudget"/>).
/// </para>
/// <para>
/// Memory for a body of S bytes (S at most <see cref="Limit"/>): one array of P bytes, P the power of two at or above
/// S, and the smaller arrays it grew through, back in the pool or garbage: at most 2P, under 4S, once per
/// concurrently collected body; above <see cref="WorkingSize"/>, the budget holds P until <see cref="Reset"/>.
/// </para>
/// </summary>
public sealed class BodyBuffer
{
    /// <summary>The largest array taken from the shared pool without a reservation.</summary>
    public const int WorkingSize = 64 * 1024;

    private byte[] _buffer = [];
    private int _length;
    private IMemoryReservation? _budget;
    private long _reserved;

    public BodyBuffer(long limit) => Limit = limit;

    public long Limit { get; }

    /// <summary>The bytes collected so far.</summary>
    public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, _length);

    /// <summary>How many bytes were collected (the length of <see cref="Content"/>).</summary>
    public int Length => _length;

    /// <summary>Every byte offered so far, collected or not.</summary>
    public long TotalLength { get; private set; }

    /// <summary>
    /// True once more than <see cref="Limit"/> bytes were offered, or the memory budget had no room for more:
    /// <see cref="Content"/> is only the start.
    /// </summary>
    public bool Overflowed { get; private set; }

    /// <summary>True when collecting stopped because the memory budget had no room (not because of <see cref="Limit"/>).</summary>
    public bool OverBudget { get; private set; }

    /// <summary>
    /// Adds a chunk. Growth beyond <see cref="WorkingSize"/> is reserved from <paramref name="budget"/> first (null:
    /// nothing is reserved); the reservation is given back by <see cref="Reset"/>.
    /// </summary>
    public void Append(ReadOnlySpan<byte> chunk, IMemoryReservation? budget = null)
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

        if (_length + chunk.Length > _buffer.Length && !Grow(_length + chunk.Length, budget))
        {
            Overflowed = true;
            OverBudget = true;
            chunk = chunk[..(_buffer.Length - _length)];
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
        OverBudget = false;
    }

    private bool Grow(int needed, IMemoryReservation? budget)
    {
        int size = (int)Math.Min(Math.Max(Math.Max(_buffer.Length * 2L, needed), 16 * 1024), Math.Max(Limit, 16 * 1024));
        if (size > WorkingSize && budget is not null)
        {
            if (!budget.TryReserve(size))
            {
                return false;
            }
        }

        byte[] bigger = size <= WorkingSize ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        Return();
        _buffer = bigger;
        if (size > WorkingSize && budget is not null)
        {
            _budget = budget;
            _reserved = size;
        }

        return true;
    }

    /// <summary>Gives the array back to the pool (or the GC) and its reservation back to the budget.</summary>
    private void Return()
    {
        if (_buffer.Length is > 0 and <= WorkingSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        if (_reserved > 0)
        {
            _budget!.Release(_reserved);
            _reserved = 0;
            _budget = null;
        }
    }
}
