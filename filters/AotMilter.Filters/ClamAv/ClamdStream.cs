using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using AotMilter.Filters.Scanning;
using AotMilter.Protocol;

namespace AotMilter.Filters.ClamAv;

/// <summary>
/// One message on its way to clamd, sent as it arrives: the filter's synchronous header and body callbacks copy the
/// bytes into INSTREAM chunks of up to <see cref="ChunkSize"/> bytes (<c>&lt;4-byte big-endian length&gt;&lt;data&gt;</c>,
/// 16 KiB with the length and room for the command ahead of it: one of the shared array pool's sizes, so a chunk takes
/// no more than it needs) and a pump on the thread pool sends each one as it fills, the first with the command, so by
/// end of message only the last chunk and the terminator (one write) are left to send. A message smaller than a chunk
/// goes to clamd in one write with its command and terminator.
/// <para>
/// Bounds: the whole stream is at most <c>max-size</c> bytes (beyond it the stream is dropped and the message is
/// oversize); chunks waiting for the pump (clamd slower than the MTA) are held up to <see cref="UnreservedChunks"/>
/// without a reservation, and beyond that each one is reserved from the daemon's memory budget first (no room: the
/// scan fails with <see cref="ScanErrorKind.Memory"/>). The deadline restarts at each chunk the MTA gives and at end
/// of message, so a message that arrives slowly is not cut while clamd keeps up.
/// </para>
/// <para>
/// Threads: <see cref="Write"/> and <see cref="Flush"/> run on the connection's event loop; the pump runs on the
/// thread pool and shares only the queue (under <c>_gate</c>). The connection to clamd belongs to the pump while it
/// runs; whoever finishes last (the pump, or <see cref="FinishAsync"/>, or <see cref="Abandon"/>) gives it back.
/// </para>
/// </summary>
internal sealed class ClamdStream
{
    public const int ChunkSize = (16 * 1024) - Headroom - Prefix;
    public const int UnreservedChunks = 4;

    private const int Prefix = 4;
    private static readonly ReadOnlyMemory<byte> StartSession = "zIDSESSION\0zINSTREAM\0"u8.ToArray();
    private static readonly ReadOnlyMemory<byte> StartInSession = "zINSTREAM\0"u8.ToArray();

    /// <summary>Room ahead of every chunk's length for the command that starts the stream (the longer one, <see cref="StartSession"/>, is 21 bytes), sent in the same write.</summary>
    private const int Headroom = 21;

    private readonly ScannerPool _pool;
    private readonly ScanDeadline _deadline;
    private readonly IMemoryReservation? _budget;
    private readonly long _maxSize;
    private readonly Lock _gate = new();
    private readonly Queue<Chunk> _queue = new();
    private byte[]? _tail;
    private int _tailLength;
    private bool _pumping;
    private bool _abandoned;
    private Task _pump = Task.CompletedTask;
    private ScannerConnection? _connection;
    private ScanException? _failure;

    public ClamdStream(ScannerPool pool, TimeSpan timeout, long maxSize, IMemoryReservation? budget)
    {
        _pool = pool;
        _deadline = new ScanDeadline(timeout);
        _maxSize = maxSize;
        _budget = budget;
        Started = Stopwatch.GetTimestamp();
    }

    /// <summary>When the first byte was offered (<see cref="Stopwatch.GetTimestamp"/>), for the latency histogram.</summary>
    public long Started { get; }

    /// <summary>Every byte offered, sent or not.</summary>
    public long Size { get; private set; }

    /// <summary>True once more than max-size bytes were offered: the stream was dropped and nothing more is sent.</summary>
    public bool Oversize { get; private set; }

    /// <summary>Copies <paramref name="data"/> into the stream (sent at the next full chunk or <see cref="Flush"/>).</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        Size += data.Length;
        if (Oversize || _abandoned)
        {
            return;
        }

        if (Size > _maxSize)
        {
            Oversize = true;
            Abandon();
            return;
        }

        while (!data.IsEmpty)
        {
            _tail ??= ArrayPool<byte>.Shared.Rent(Headroom + Prefix + ChunkSize);
            int n = Math.Min(data.Length, ChunkSize - _tailLength);
            data[..n].CopyTo(_tail.AsSpan(Headroom + Prefix + _tailLength));
            _tailLength += n;
            data = data[n..];
            if (_tailLength == ChunkSize)
            {
                QueueTail(terminated: false);
            }
        }
    }

    /// <summary>Adds a header field as the message has it: <c>Name: value</c> and CRLF.</summary>
    public void WriteHeader(HeaderField header)
    {
        Write(header.Name);
        Write(": "u8);
        Write(header.Value);
        Write("\r\n"u8);
    }

    /// <summary>
    /// Sends the full chunks written so far (the MTA has given a whole header block or body chunk). The chunk being
    /// filled waits for more bytes or for end of message, which sends it with the terminator: a message smaller than a
    /// chunk goes to clamd in one write, and takes a connection only then.
    /// </summary>
    public void Flush()
    {
        if (Oversize || _abandoned)
        {
            return;
        }

        _deadline.Extend();
        StartPump();
    }

    /// <summary>
    /// Sends the rest and the terminator, waits for clamd's reply and gives the connection back. Throws
    /// <see cref="ScanException"/> when there is no verdict.
    /// </summary>
    public async ValueTask<ClamdVerdict> FinishAsync(CancellationToken callbackAborted)
    {
        bool reusable = false;
        try
        {
            // The terminator (a zero length) goes with the last data when that chunk has room for it.
            bool terminated = false;
            if (_tail is not null && !_abandoned)
            {
                terminated = _tailLength <= ChunkSize - Prefix;
                QueueTail(terminated);
            }

            if (!terminated)
            {
                Enqueue(new Chunk(ArrayPool<byte>.Shared.Rent(Headroom + Prefix), Prefix, false), terminator: true);
            }

            _deadline.Extend();
            _deadline.Link(callbackAborted);
            StartPump();
            while (true)
            {
                await _pump.ConfigureAwait(false);
                lock (_gate)
                {
                    if (!_pumping)
                    {
                        break;
                    }
                }
            }

            if (_failure is not null)
            {
                throw _failure;
            }

            try
            {
                ClamdVerdict verdict = await ClamdReply.ReadAsync(_connection!, _connection!.Requests, _deadline.Token).ConfigureAwait(false);
                reusable = true;
                return verdict;
            }
            catch (OperationCanceledException) when (_deadline.Token.IsCancellationRequested)
            {
                throw _deadline.Expired("clamd");
            }
        }
        finally
        {
            lock (_gate)
            {
                _abandoned = true;
                DrainQueue();
            }

            GiveBack(reusable);
        }
    }

    /// <summary>Drops the stream (message aborted, oversize, connection closed): the pump stops, the connection closes.</summary>
    public void Abandon()
    {
        bool pumping;
        lock (_gate)
        {
            _abandoned = true;
            DrainQueue();
            pumping = _pumping;
        }

        ReturnTail();
        if (pumping)
        {
            // The pump gives the connection back when its send sees the cancellation.
            _deadline.Cancel();
        }
        else
        {
            GiveBack(reusable: false);
        }
    }

    /// <summary>Queues the chunk being filled; <paramref name="terminated"/>: with the terminator after it (there is room).</summary>
    private void QueueTail(bool terminated)
    {
        byte[] tail = _tail!;
        BinaryPrimitives.WriteInt32BigEndian(tail.AsSpan(Headroom), _tailLength);
        int length = Prefix + _tailLength;
        if (terminated)
        {
            tail.AsSpan(Headroom + length, Prefix).Clear();
            length += Prefix;
        }

        _tail = null;
        _tailLength = 0;
        Enqueue(new Chunk(tail, length, false), terminator: false);
    }

    private void Enqueue(Chunk chunk, bool terminator)
    {
        lock (_gate)
        {
            if (_failure is null && !terminator && _queue.Count >= UnreservedChunks)
            {
                if (_budget is not null && !_budget.TryReserve(chunk.Array.Length))
                {
                    _failure = new ScanException(ScanErrorKind.Memory, $"the daemon's memory budget (--max-memory) had no room for the {Size}-byte stream clamd was slow to take");
                }
                else
                {
                    chunk = chunk with { Reserved = _budget is not null };
                }
            }

            if (_failure is not null || _abandoned)
            {
                Release(chunk);
                return;
            }

            if (terminator)
            {
                chunk.Array.AsSpan(Headroom, Prefix).Clear();
            }

            _queue.Enqueue(chunk);
        }
    }

    private void StartPump()
    {
        lock (_gate)
        {
            if (_pumping || _queue.Count == 0 || _failure is not null || _abandoned)
            {
                return;
            }

            _pumping = true;
        }

        // Only the event loop's thread starts pumps (Write, Flush, FinishAsync), so _pump needs no lock.
        _pump = PumpAsync();
    }

    private async Task PumpAsync()
    {
        CancellationToken token = _deadline.Token;
        ReadOnlyMemory<byte> command = default;
        bool abandoned;
        try
        {
            if (_connection is null)
            {
                ScannerConnection connection = await _pool.RentAsync(token).ConfigureAwait(false);
                _connection = connection;
                command = connection.Requests == 0 ? StartSession : StartInSession;
                connection.Requests++;
            }

            while (true)
            {
                Chunk chunk;
                lock (_gate)
                {
                    // Stopping and saying so happen under one lock: a chunk queued after this starts a new pump.
                    if (_abandoned || !_queue.TryDequeue(out chunk))
                    {
                        _pumping = false;
                        abandoned = _abandoned;
                        break;
                    }
                }

                try
                {
                    // The first chunk carries the command ahead of it, in its headroom.
                    int start = Headroom - command.Length;
                    command.Span.CopyTo(chunk.Array.AsSpan(start));
                    command = default;
                    await _connection.SendAsync(chunk.Array.AsMemory(start, Headroom - start + chunk.Length), token).ConfigureAwait(false);
                }
                finally
                {
                    Release(chunk);
                }
            }
        }
        catch (Exception ex)
        {
            ScanException failure = ex switch
            {
                ScanException scan => scan,
                OperationCanceledException when token.IsCancellationRequested => _deadline.Expired("clamd"),
                _ => new ScanException(ScanErrorKind.Closed, $"sending to clamd failed: {ex.Message}", ex),
            };
            lock (_gate)
            {
                _failure ??= failure;
                DrainQueue();
                _pumping = false;
                abandoned = _abandoned;
            }
        }

        if (abandoned)
        {
            GiveBack(reusable: false);
        }
    }

    private void GiveBack(bool reusable)
    {
        ScannerConnection? connection = Interlocked.Exchange(ref _connection, null);
        if (connection is not null)
        {
            _pool.Return(connection, reusable);
        }

        _deadline.Dispose();
    }

    private void ReturnTail()
    {
        byte[]? tail = Interlocked.Exchange(ref _tail, null);
        if (tail is not null)
        {
            ArrayPool<byte>.Shared.Return(tail);
        }
    }

    private void DrainQueue()
    {
        while (_queue.TryDequeue(out Chunk chunk))
        {
            Release(chunk);
        }
    }

    private void Release(Chunk chunk)
    {
        if (chunk.Reserved)
        {
            _budget!.Release(chunk.Array.Length);
        }

        ArrayPool<byte>.Shared.Return(chunk.Array);
    }

    /// <summary>A chunk to send: <see cref="Length"/> bytes (length, data, maybe the terminator) after the headroom of <see cref="Array"/>.</summary>
    private readonly record struct Chunk(byte[] Array, int Length, bool Reserved);
}
