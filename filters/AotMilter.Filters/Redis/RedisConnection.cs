using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;

namespace AotMilter.Filters.Redis;

/// <summary>
/// One connection to Redis, shared by every caller: commands are pipelined (each caller appends its command and
/// does not wait for the ones before it to be answered; whatever accumulated while a send was in progress goes out in
/// the next send), and replies come back in order, each completing the oldest request still waiting.
/// Nothing here blocks a thread: sends and receives are asynchronous, and a caller's task completes on the thread
/// pool, never on the receive loop.
/// Bounds: at most <see cref="MaxPending"/> requests wait for a reply and <see cref="MaxOutgoingBytes"/> wait to be
/// sent (more fail at once), and a reply is at most
/// <see cref="RespReader.MaxBulkLength"/> bytes plus its framing. When the connection breaks every waiting request
/// fails, and the connection is not used again.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    /// <summary>Requests waiting for their reply at once, all callers together.</summary>
    public const int MaxPending = 16_384;

    /// <summary>Bytes of commands not yet sent (a server that stops reading cannot make the daemon hold more).</summary>
    public const int MaxOutgoingBytes = 1024 * 1024;

    private const int ReceiveChunk = 16 * 1024;

    private readonly Socket _socket;
    private readonly Queue<TaskCompletionSource<RedisReply>> _pending = new();
    private readonly Lock _gate = new();
    private ArrayBufferWriter<byte> _outgoing = new(4096);
    private ArrayBufferWriter<byte> _sending = new(4096);
    private bool _flushing;
    private Exception? _failure;
    private long _lastReceive;

    private RedisConnection(Socket socket, string name)
    {
        _socket = socket;
        Name = name;
        _lastReceive = Stopwatch.GetTimestamp();
    }

    public string Name { get; }

    /// <summary>False once the connection failed or was closed.</summary>
    public bool IsOpen => Volatile.Read(ref _failure) is null;

    /// <summary>Connects, then starts the receive loop. <paramref name="cancellationToken"/> bounds the connect.</summary>
    public static async Task<RedisConnection> ConnectAsync(RedisEndpoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Socket socket = endpoint.AddressFamily == AddressFamily.Unspecified
            ? new Socket(SocketType.Stream, ProtocolType.Tcp)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, endpoint.UnixPath is null ? ProtocolType.Tcp : ProtocolType.Unspecified);
        try
        {
            if (endpoint.UnixPath is null)
            {
                socket.NoDelay = true;
            }

            await socket.ConnectAsync(endpoint.ToEndPoint(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RedisConnection(socket, endpoint.ToString());
        _ = connection.ReceiveLoopAsync();
        return connection;
    }

    /// <summary>
    /// Queues one command (complete RESP bytes) and returns its reply's task. Never throws: a closed connection or a
    /// full queue gives a failed task.
    /// </summary>
    public Task<RedisReply> Send(ReadOnlySpan<byte> command)
    {
        var reply = new TaskCompletionSource<RedisReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool startFlush;
        lock (_gate)
        {
            if (_failure is not null)
            {
                return Task.FromException<RedisReply>(new RedisException($"the connection to {Name} is closed: {_failure.Message}", _failure));
            }

            if (_pending.Count >= MaxPending || _outgoing.WrittenCount + command.Length > MaxOutgoingBytes)
            {
                return Task.FromException<RedisReply>(new RedisException($"{_pending.Count} requests already wait for {Name}"));
            }

            _pending.Enqueue(reply);
            command.CopyTo(_outgoing.GetSpan(command.Length));
            _outgoing.Advance(command.Length);
            startFlush = !_flushing;
            _flushing = true;
        }

        if (startFlush)
        {
            _ = FlushLoopAsync();
        }

        return reply.Task;
    }

    /// <summary>
    /// Called when a request waited longer than its deadline. When nothing at all came back for that long while
    /// requests wait, the server (or the path to it) hangs: the connection is closed, so that the next request opens a
    /// new one instead of queueing behind the dead ones.
    /// </summary>
    public void RequestTimedOut(TimeSpan deadline)
    {
        bool silent;
        lock (_gate)
        {
            silent = _pending.Count > 0 && Stopwatch.GetElapsedTime(_lastReceive) >= deadline;
        }

        if (silent)
        {
            Fail(new RedisException($"{Name} answered nothing for {deadline.TotalMilliseconds:0} ms") { Reason = "timeout" });
        }
    }

    public ValueTask DisposeAsync()
    {
        Fail(new ObjectDisposedException(nameof(RedisConnection)));
        return ValueTask.CompletedTask;
    }

    private async Task FlushLoopAsync()
    {
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_outgoing.WrittenCount == 0 || _failure is not null)
                    {
                        _flushing = false;
                        return;
                    }

                    (_sending, _outgoing) = (_outgoing, _sending);
                }

                ReadOnlyMemory<byte> data = _sending.WrittenMemory;
                while (!data.IsEmpty)
                {
                    int sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                    data = data[sent..];
                }

                _sending.Clear();
                if (_sending.Capacity > 64 * 1024)
                {
                    // After a burst, give back the large buffer.
                    _sending = new ArrayBufferWriter<byte>(4096);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Fail(ex);
            lock (_gate)
            {
                _flushing = false;
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        int filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // A reply larger than the buffer: grow, within the reply bound RespReader enforces.
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int received = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    Fail(new RedisException($"{Name} closed the connection"));
                    return;
                }

                filled += received;
                int used = Dispatch(buffer.AsSpan(0, filled));
                buffer.AsSpan(used, filled - used).CopyTo(buffer);
                filled -= used;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or RedisException)
        {
            Fail(ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Completes a waiting request for each whole reply; returns the bytes used.</summary>
    private int Dispatch(ReadOnlySpan<byte> received)
    {
        int used = 0;
        while (RespReader.TryRead(received[used..], out RedisReply? reply, out int consumed))
        {
            used += consumed;
            TaskCompletionSource<RedisReply>? waiting;
            lock (_gate)
            {
                _lastReceive = Stopwatch.GetTimestamp();
                _pending.TryDequeue(out waiting);
            }

            if (waiting is null)
            {
                throw new RedisException($"{Name} sent a reply nobody asked for") { Reason = "reply" };
            }

            waiting.TrySetResult(reply!);
        }

        return used;
    }

    private void Fail(Exception reason)
    {
        TaskCompletionSource<RedisReply>[] waiting;
        lock (_gate)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = reason;
            waiting = [.. _pending];
            _pending.Clear();
        }

        _socket.Dispose();
        var error = reason as RedisException ?? new RedisException($"the connection to {Name} failed: {reason.Message}", reason);
        foreach (TaskCompletionSource<RedisReply> request in waiting)
        {
            request.TrySetException(error);
        }
    }
}
