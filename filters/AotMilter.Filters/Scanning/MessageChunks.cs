using System.Buffers;
using AotMilter.Protocol;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// A message collected for a scanner that needs its length before the first byte (spamd's and rspamd's requests
/// carry a Content-length): pooled <see cref="ChunkSize"/>-byte chunks, sent one after another, never copied into a
/// whole. At most <see cref="Limit"/> bytes (<c>max-size</c>) are kept: beyond it collecting stops
/// (<see cref="Overflowed"/>) and the message is not scanned. The first <see cref="UnreservedChunks"/> chunks are the
/// connection's working size; each further one is reserved from the daemon's memory budget first, and when the
/// budget has no room collecting stops (<see cref="OverBudget"/>). <see cref="Reset"/> gives everything back.
/// </summary>
public sealed class MessageChunks
{
    public const int ChunkSize = 16 * 1024;
    public const int UnreservedChunks = 4;

    private readonly List<byte[]> _chunks = [];
    private int _lastLength = ChunkSize;
    private IMemoryReservation? _budget;
    private long _reserved;

    public MessageChunks(long limit) => Limit = limit;

    public long Limit { get; }

    /// <summary>Bytes kept (and sent by <see cref="SendAsync"/>).</summary>
    public long Length { get; private set; }

    /// <summary>Every byte offered, kept or not.</summary>
    public long TotalLength { get; private set; }

    /// <summary>True once more than <see cref="Limit"/> bytes were offered or the budget had no room: nothing more is kept.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>True when collecting stopped for the memory budget rather than the limit.</summary>
    public bool OverBudget { get; private set; }

    public void Append(ReadOnlySpan<byte> data, IMemoryReservation? budget)
    {
        TotalLength += data.Length;
        if (Overflowed)
        {
            return;
        }

        if (TotalLength > Limit)
        {
            Overflowed = true;
            return;
        }

        while (!data.IsEmpty)
        {
            if (_lastLength == ChunkSize && !AddChunk(budget))
            {
                Overflowed = OverBudget = true;
                return;
            }

            int n = Math.Min(data.Length, ChunkSize - _lastLength);
            data[..n].CopyTo(_chunks[^1].AsSpan(_lastLength));
            _lastLength += n;
            Length += n;
            data = data[n..];
        }
    }

    /// <summary>Adds a header field as the message has it: <c>Name: value</c> and CRLF.</summary>
    public void AppendHeader(HeaderField header, IMemoryReservation? budget)
    {
        Append(header.Name, budget);
        Append(": "u8, budget);
        Append(header.Value, budget);
        Append("\r\n"u8, budget);
    }

    /// <summary>Sends the kept bytes, chunk after chunk.</summary>
    public async ValueTask SendAsync(ScannerConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        for (int i = 0; i < _chunks.Count; i++)
        {
            int length = i == _chunks.Count - 1 ? _lastLength : ChunkSize;
            await connection.SendAsync(_chunks[i].AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
    }

    public void Reset()
    {
        foreach (byte[] chunk in _chunks)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        _chunks.Clear();
        if (_reserved > 0)
        {
            _budget!.Release(_reserved);
            _reserved = 0;
        }

        _budget = null;
        _lastLength = ChunkSize;
        Length = 0;
        TotalLength = 0;
        Overflowed = false;
        OverBudget = false;
    }

    private bool AddChunk(IMemoryReservation? budget)
    {
        if (_chunks.Count >= UnreservedChunks && budget is not null)
        {
            if (!budget.TryReserve(ChunkSize))
            {
                return false;
            }

            _budget = budget;
            _reserved += ChunkSize;
        }

        _chunks.Add(ArrayPool<byte>.Shared.Rent(ChunkSize));
        _lastLength = 0;
        return true;
    }
}
