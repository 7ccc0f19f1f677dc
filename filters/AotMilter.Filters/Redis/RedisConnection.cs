using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using AotMilter.Hosting;

namespace AotMilter.Filters.Redis;

/// <summary>
/// One connection to Redis, shared by every caller: commands are pipelined (each caller appends its command and
/// does not wait for the ones before it to be answered; what accumulates while requests are in flight goes out in one
/// write when their replies come, and what the callbacks of one wake-up of the connection's I/O thread queue goes out
/// in one write at the end of that wake-up), and replies come back in order, each completing the oldest request still
/// waiting.
/// No caller ever waits on the socket: commands are written without blocking by the caller's thread, and replies are
/// read by one thread per connection (RedisConnection.Socket.cs): the I/O thread the connection belongs to, or a
/// reader thread of its own. That thread completes each caller's task itself, with no further hand-over (a milter
/// callback's continuation then runs on its own I/O thread, or posts its connection back to it); deadlines
/// are checked every <see cref="DeadlineCheck"/> by one timer per connection rather than a timer per request, and only
/// while requests wait.
/// Bounds: at most <see cref="MaxPending"/> requests wait for a reply and <see cref="MaxOutgoingBytes"/> wait to be
/// sent (more fail at once), and a reply is at most
/// <see cref="RespReader.MaxBulkLength"/> bytes plus its framing. When the connection breaks every waiting request
/// fails, and the connection is not used again.
/// </summary>
public sealed partial class RedisConnection : IAsyncDisposable
{
    /// <summary>Requests waiting for their reply at once, all callers together.</summary>
    public const int MaxPending = 16_384;

    /// <summary>Requests in flight from which a new command waits to be sent with the next batch instead of at once.</summary>
    public const int BatchAbove = 2;

    /// <summary>Bytes of commands not yet sent (a server that stops reading cannot make the daemon hold more).</summary>
    public const int MaxOutgoingBytes = 1024 * 1024;

    private readonly Socket _socket;
    private readonly IoThread? _io;
    private readonly Queue<PendingRequest> _pending = new();
    private readonly Timer _deadlines;
    private bool _deadlinesArmed;
    private int _idleChecks;
    private readonly Lock _gate = new();
    private ArrayBufferWriter<byte> _outgoing = new(4096);
    private ArrayBufferWriter<byte> _sending = new(4096);
    private bool _flushing;
    private bool _flushDeferred;
    private readonly Action _flushDeferredAction;
    private int _sent;
    private Exception? _failure;
    private long _lastReceive;

    // Replies read and not yet dispatched; touched only by the thread that reads this connection.
    private byte[] _received = new byte[ReceiveChunk];
    private int _receivedCount;

    private RedisConnection(Socket socket, string name, IoThread? io)
    {
        _socket = socket;
        _io = io;
        Name = name;
        _lastReceive = Stopwatch.GetTimestamp();
        _flushDeferredAction = FlushDeferred;
        _deadlines = new Timer(static c => ((RedisConnection)c!).CheckDeadlines(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How often waiting requests are checked against their deadlines (a request fails this much late at most).</summary>
    public static readonly TimeSpan DeadlineCheck = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Checks that found nothing waiting after which the checks stop until the next request: an idle daemon's Redis
    /// connections then wake nothing (checking every 20 ms for ever cost about 470 context switches a second).
    /// </summary>
    public const int IdleChecksBeforeStop = 50;

    public string Name { get; }

    /// <summary>False once the connection failed or was closed.</summary>
    public bool IsOpen => Volatile.Read(ref _failure) is null;

    /// <summary>
    /// Queues one command (complete RESP bytes) and returns its reply's task, which fails with a timeout
    /// <see cref="RedisException"/> once <paramref name="deadline"/> has passed, or is cancelled when
    /// <paramref name="cancellationToken"/> fires. Never throws: a closed connection or a full queue gives a failed task.
    /// The task completes on the thread that received the reply (or found the deadline passed): its continuation must
    /// be short and must not block, as a milter callback's continuation is.
    /// </summary>
    public Task<RedisReply> Send(ReadOnlySpan<byte> command, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var request = new PendingRequest(Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency), deadline);
        bool startFlush, deferFlush = false;
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

            // With requests in flight, the command waits for the reader thread, which sends everything queued once it
            // has read the next replies: commands issued meanwhile by any caller go out in one write, and Redis reads
            // and answers them together (that halved Redis's CPU per call, at concurrency 8 and 64 alike). With at
            // most one in flight the command goes out now: from another thread at once, and from the I/O thread this
            // connection belongs to at the end of its wake-up, with the commands of the other connections it serves in
            // that wake-up.
            startFlush = _pending.Count < BatchAbove && !_flushing;
            if (startFlush && _io is not null && IoThread.Current == _io)
            {
                startFlush = false;
                deferFlush = !_flushDeferred;
                _flushDeferred = true;
            }

            _flushing |= startFlush;
            _pending.Enqueue(request);
            command.CopyTo(_outgoing.GetSpan(command.Length));
            _outgoing.Advance(command.Length);
            if (!_deadlinesArmed)
            {
                // Changed under the lock, as CheckDeadlines stops it: the two cannot undo each other.
                _deadlinesArmed = true;
                _idleChecks = 0;
                _deadlines.Change(DeadlineCheck, DeadlineCheck);
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.UnsafeRegister(static (r, token) => ((PendingRequest)r!).TrySetCanceled(token), request);
        }

        if (startFlush)
        {
            Flush();
        }
        else if (deferFlush)
        {
            _io!.BeforeWaiting(_flushDeferredAction);
        }

        return request.Task;
    }

    /// <summary>
    /// Fails the requests whose deadline has passed. When nothing at all came back for that long while they waited,
    /// the server (or the path to it) hangs: the connection is closed, so that the next request opens a new one
    /// instead of queueing behind the dead ones.
    /// </summary>
    private void CheckDeadlines()
    {
        long now = Stopwatch.GetTimestamp();
        List<PendingRequest>? expired = null;
        bool silent = false;
        lock (_gate)
        {
            foreach (PendingRequest request in _pending)
            {
                if (request.DeadlineTimestamp <= now && !request.Task.IsCompleted)
                {
                    (expired ??= []).Add(request);
                    silent |= Stopwatch.GetElapsedTime(_lastReceive, now) >= request.Deadline;
                }
            }

            _idleChecks = _pending.Count == 0 ? _idleChecks + 1 : 0;
            if (_idleChecks >= IdleChecksBeforeStop && _deadlinesArmed && _failure is null)
            {
                // Nothing has waited for a while: stop until Send arms the checks again (a failed connection's timer
                // is disposed, hence the check of _failure under the same lock that Fail sets it with).
                _deadlinesArmed = false;
                _deadlines.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }

        if (expired is null)
        {
            return;
        }

        if (silent)
        {
            Fail(new RedisException($"{Name} answered nothing for {expired[0].Deadline.TotalMilliseconds:0} ms") { Reason = "timeout" });
            return;
        }

        foreach (PendingRequest request in expired)
        {
            request.TrySetException(new RedisException($"no answer from {Name} within {request.Deadline.TotalMilliseconds:0} ms") { Reason = "timeout" });
        }
    }

    public ValueTask DisposeAsync()
    {
        Fail(new ObjectDisposedException(nameof(RedisConnection)));
        return ValueTask.CompletedTask;
    }

    /// <summary>Completes a waiting request for each whole reply; returns the bytes used.</summary>
    private int Dispatch(ReadOnlySpan<byte> received)
    {
        int used = 0;
        while (RespReader.TryRead(received[used..], out RedisReply? reply, out int consumed))
        {
            used += consumed;
            PendingRequest? waiting;
            lock (_gate)
            {
                _lastReceive = Stopwatch.GetTimestamp();
                _pending.TryDequeue(out waiting);
            }

            if (waiting is null)
            {
                throw new RedisException($"{Name} sent a reply nobody asked for") { Reason = "reply" };
            }

            // A request that timed out or was cancelled keeps its place in the queue until its reply comes, so
            // that the replies after it still find their requests; its reply is dropped here.
            waiting.Registration.Dispose();
            waiting.TrySetResult(reply!);
        }

        return used;
    }

    private void Fail(Exception reason)
    {
        PendingRequest[] waiting;
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

        if (_io is null)
        {
            _socket.Dispose();
        }
        else
        {
            // The I/O thread takes the socket out of its set before closing it: closed here, the descriptor's number
            // could go to a new milter connection before the loop forgot it.
            _io.Close(_socket);
        }

        _deadlines.Dispose();
        var error = reason as RedisException ?? new RedisException($"the connection to {Name} failed: {reason.Message}", reason);
        foreach (PendingRequest request in waiting)
        {
            request.Registration.Dispose();
            request.TrySetException(error);
        }
    }

    /// <summary>One command waiting for its reply, with its deadline and its caller's cancellation.</summary>
    private sealed class PendingRequest(long deadlineTimestamp, TimeSpan deadline) : TaskCompletionSource<RedisReply>
    {
        public long DeadlineTimestamp { get; } = deadlineTimestamp;

        public TimeSpan Deadline { get; } = deadline;

        public CancellationTokenRegistration Registration { get; set; }
    }
}
