using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using AotMilter.Protocol;
using AotMilter.Server.Interop;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// The connection loop of one MTA connection, driven by its <see cref="EventLoop"/>: receive into one contiguous
/// buffer, hand every complete frame to the session, send the replies of the whole batch in one write, wait for the
/// next readiness. A frame never straddles two buffers, so parsing works on spans with no copy. Bad input closes this
/// connection only, with one log line saying why.
/// </summary>
/// <remarks>
/// States: <b>reading</b> (waiting for the MTA), <b>flushing</b> (replies the socket could not take at once;
/// waiting for room), <b>waiting</b> (a filter's async callback is running; the loop does not touch the connection
/// until the callback completes and posts it back), <b>closed</b>. Only the loop's thread changes state; the one
/// thing another thread may do is send progress while the connection is waiting.
/// </remarks>
internal sealed class MilterConnection : IEventHandler, ILoopWork, IProgressSender
{
    private const int InitialBufferSize = 8 * 1024;
    private const int RetainedBufferSize = 64 * 1024;
    private const int FramePending = -1;
    private const long BlockedLoopWarningMilliseconds = 1000;

    private EventLoop _loop;
    private readonly ConnectionPool? _pool;
    private int _fd;
    private Socket? _socket;
    private readonly MilterSession _session;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private readonly IConnectionOwner _owner;
    private readonly Action _postToLoop;
    private readonly object _sendLock = new();
    private long _started = Stopwatch.GetTimestamp();

    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _required;
    private int _sent;
    private ulong _token;
    private State _state = State.New;
    private bool _callbackRunning;
    private bool _resumeFrame;
    private bool _cutRequested;
    private bool _interestStale;
    private byte _lastCommand;
    private int _generation;
    private long _lastActivity;
    private ValueTask _wait;
    private Timer? _progressTimer;

    /// <param name="fd">The connected descriptor, non-blocking.</param>
    /// <param name="socket">The socket that owns <paramref name="fd"/> when the caller made one (it is disposed at close); null: the descriptor is closed directly.</param>
    /// <param name="pool">Where the connection goes back after it closed, to serve a later descriptor (null: not reused).</param>
    public MilterConnection(EventLoop loop, int fd, Socket? socket, MilterSession session, MilterServerOptions options, ILogger log, IConnectionOwner owner, ConnectionPool? pool = null)
    {
        _pool = pool;
        _loop = loop;
        _fd = fd;
        _socket = socket;
        _session = session;
        _options = options;
        _log = log;
        _owner = owner;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        _postToLoop = () => _loop.Post(this);
        session.Progress = this;
    }

    /// <summary>
    /// Takes a new descriptor, on <paramref name="loop"/> (which may not be the one it served before): a pooled
    /// connection made as new (with its session). That loop's thread only.
    /// </summary>
    public void Reuse(EventLoop loop, int fd, long connectionId)
    {
        lock (_sendLock)
        {
            _generation++;
        }

        _loop = loop;
        _fd = fd;
        _socket = null;
        _session.Reuse(connectionId);
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        _start = 0;
        _end = 0;
        _required = 0;
        _sent = 0;
        _token = 0;
        _state = State.New;
        _callbackRunning = false;
        _resumeFrame = false;
        _cutRequested = false;
        _interestStale = false;
        _wait = default;
        _started = Stopwatch.GetTimestamp();
    }

    private enum State : byte
    {
        New,
        Reading,
        Flushing,
        Waiting,
        Closed,
    }

    public long Id => _session.Context.ConnectionId;

    public IConnectionOwner Owner => _owner;

    public EventLoop Loop => _loop;

    /// <summary>Starts reading. Loop thread only (from another thread, <see cref="EventLoop.Post"/> the connection).</summary>
    public void Start()
    {
        _lastActivity = _loop.Now;
        try
        {
            _token = _loop.Register(this, _fd, Libc.EPOLLIN | Libc.EPOLLRDHUP);
        }
        catch (IOException ex)
        {
            Close(ex.Message);
            return;
        }

        _state = State.Reading;
        _required = 0;
    }

    /// <summary>Closes the connection now, or as soon as a running callback completes. Loop thread only.</summary>
    public void Cut(string reason)
    {
        if (_state == State.Waiting)
        {
            _cutRequested = true;
            return;
        }

        if (FlowedContext is { } flowed)
        {
            ExecutionContext.Run(flowed, state => ((MilterConnection)state!).Close(reason), this);
            return;
        }

        Close(reason);
    }

    /// <summary>
    /// The caller's execution context for a connection handed in by <see cref="MilterServer.ServeAsync"/> (a test
    /// host's AsyncLocal state reaches its filters as it would through an awaited call); null for accepted ones.
    /// </summary>
    public ExecutionContext? FlowedContext { get; set; }

    void IEventHandler.OnEvents(uint events)
    {
        if (FlowedContext is { } flowed)
        {
            ExecutionContext.Run(flowed, static state => ((MilterConnection)state!).HandleEvents(), this);
            return;
        }

        HandleEvents();
    }

    private void HandleEvents()
    {
        try
        {
            switch (_state)
            {
                case State.Reading:
                    Receive();
                    break;
                case State.Flushing:
                    if (TryFlush())
                    {
                        Pump();
                    }

                    break;

                // Waiting: only an error or hang-up can arrive (one-shot); it is seen by the read after the callback.
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    void IEventHandler.OnTick(long now)
    {
        if (FlowedContext is { } flowed)
        {
            ExecutionContext.Run(flowed, state => ((MilterConnection)state!).CheckTimeout(now), this);
            return;
        }

        CheckTimeout(now);
    }

    private void CheckTimeout(long now)
    {
        if (_state is State.Reading or State.Flushing && now - _lastActivity > (long)_options.ReadTimeout.TotalMilliseconds)
        {
            Close(_state == State.Reading
                ? $"no command from the MTA for {_options.ReadTimeout.TotalSeconds:0}s"
                : $"the MTA did not take replies for {_options.ReadTimeout.TotalSeconds:0}s");
        }
    }

    /// <summary>Posted work: the first start (from another thread) or the end of a running callback.</summary>
    void ILoopWork.Execute()
    {
        if (FlowedContext is { } flowed)
        {
            ExecutionContext.Run(flowed, static state => ((MilterConnection)state!).HandlePosted(), this);
            return;
        }

        HandlePosted();
    }

    private void HandlePosted()
    {
        if (_state == State.New)
        {
            Start();
            return;
        }

        if (_state != State.Waiting)
        {
            return;
        }

        try
        {
            StopWaiting();
            if (_cutRequested)
            {
                Close("daemon shutting down");
                return;
            }

            Pump();
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private unsafe void Receive()
    {
        MakeRoom(_required);
        nint received;
        fixed (byte* buffer = _buffer)
        {
            do
            {
                received = Libc.Recv(_fd, buffer + _end, _buffer.Length - _end, 0);
            }
            while (received < 0 && Libc.LastError == Libc.EINTR);
        }

        if (received < 0)
        {
            int error = Libc.LastError;
            if (error != Libc.EAGAIN)
            {
                Close($"socket error: {Libc.Describe(error)}");
            }

            return;
        }

        if (received == 0)
        {
            Close(_end > _start ? $"MTA closed the connection in the middle of a frame ({_end - _start} bytes pending)" : null);
            return;
        }

        _end += (int)received;
        _lastActivity = _loop.Now;
        Pump();
    }

    /// <summary>Runs what the buffered frames ask for until the connection has to wait for something.</summary>
    private void Pump()
    {
        while (true)
        {
            int required = _callbackRunning ? FramePending : ProcessBufferedFramesTimed();
            if (_session.Output.WrittenCount > _sent && !TryFlush())
            {
                _required = required == FramePending ? 0 : required;
                SetState(State.Flushing, Libc.EPOLLOUT);
                return;
            }

            if (required == FramePending)
            {
                if (StartWaiting())
                {
                    return;
                }

                continue;
            }

            if (_session.IsQuit)
            {
                Close(null);
                return;
            }

            _required = required;
            SetState(State.Reading, Libc.EPOLLIN | Libc.EPOLLRDHUP);
            return;
        }
    }

    /// <summary>
    /// <see cref="ProcessBufferedFrames"/>, watched: synchronous callbacks run on the loop's thread, and one that
    /// blocks holds up every connection of this loop; that is logged, naming the command it answered.
    /// </summary>
    private int ProcessBufferedFramesTimed()
    {
        long before = Environment.TickCount64;
        int required = ProcessBufferedFrames();
        long took = Environment.TickCount64 - before;
        if (took >= BlockedLoopWarningMilliseconds)
        {
            Log.LoopBlocked(_log, Id, _session.FilterNames, ((char)_lastCommand).ToString(), _loop.Index, took);
        }

        return required;
    }

    /// <summary>
    /// Processes every complete frame in the buffer; returns how many bytes the next frame needs in all, or
    /// <see cref="FramePending"/> when a callback of the frame at the front is still running.
    /// </summary>
    private int ProcessBufferedFrames()
    {
        while (!_session.IsQuit)
        {
            ReadOnlySpan<byte> pending = _buffer.AsSpan(_start, _end - _start);
            if (!MilterFrameReader.TryReadFrame(pending, _options.MaxPacketSize, out MilterFrame frame, out int length, out int required))
            {
                return required;
            }

            _lastCommand = frame.Command;
            bool done = _resumeFrame ? _session.Resume(frame) : _session.Process(frame);
            _resumeFrame = !done;
            if (!done)
            {
                _callbackRunning = true;
                return FramePending;
            }

            _start += length;
        }

        return 0;
    }

    /// <summary>
    /// Hooks the end of the running callback; true when the connection now waits for it, false when it had already
    /// completed (go on at once). At end of message, progress frames keep the MTA's timeout from expiring
    /// (Sendmail accepts them only there, so only there are they sent).
    /// </summary>
    private bool StartWaiting()
    {
        _wait = _session.CompletePendingAsync();
        if (_wait.IsCompleted)
        {
            CompleteWait();
            return false;
        }

        lock (_sendLock)
        {
            // One-shot and no events: a hang-up meanwhile is reported once, not in a loop, and read afterwards.
            SetState(State.Waiting, Libc.EPOLLONESHOT);
        }

        if (_session.IsWaitingForEndOfMessage && _options.ProgressInterval > TimeSpan.Zero)
        {
            // The timer carries the connection's generation: a late tick of a closed connection's timer must not
            // send progress on the connection this object serves next.
            _progressTimer ??= new Timer(static state =>
            {
                var (connection, generation) = ((MilterConnection, int))state!;
                connection.SendProgressWhileWaiting(generation);
            }, (this, _generation), Timeout.Infinite, Timeout.Infinite);
            _progressTimer.Change(_options.ProgressInterval, _options.ProgressInterval);
        }

        _wait.GetAwaiter().UnsafeOnCompleted(_postToLoop);
        return true;
    }

    private void StopWaiting()
    {
        _progressTimer?.Change(Timeout.Infinite, Timeout.Infinite);
        lock (_sendLock)
        {
            // Back to the loop's own state; Pump picks reading or flushing next and re-arms the descriptor.
            _state = State.Reading;
            _interestStale = true;
        }

        CompleteWait();
    }

    private void CompleteWait()
    {
        ValueTask wait = _wait;
        _wait = default;
        _callbackRunning = false;
        wait.GetAwaiter().GetResult();
    }

    private void SetState(State state, uint events)
    {
        if (_state != state || _interestStale || state == State.Waiting)
        {
            _state = state;
            _interestStale = false;
            _loop.Modify(_fd, _token, events);
        }
    }

    /// <summary>Sends what it can without blocking; true when nothing is left.</summary>
    private unsafe bool TryFlush()
    {
        ReadOnlySpan<byte> data = _session.Output.WrittenSpan[_sent..];
        while (!data.IsEmpty)
        {
            nint sent;
            fixed (byte* bytes = data)
            {
                sent = Libc.Send(_fd, bytes, data.Length, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            }

            if (sent < 0)
            {
                int error = Libc.LastError;
                if (error == Libc.EINTR)
                {
                    continue;
                }

                if (error == Libc.EAGAIN)
                {
                    return false;
                }

                throw new ConnectionIOException(error);
            }

            _sent += (int)sent;
            _lastActivity = _loop.Now;
            data = data[(int)sent..];
        }

        _sent = 0;
        _session.Output.Reset();
        _session.Output.ShrinkTo(RetainedBufferSize);
        return true;
    }

    /// <summary>Moves the unparsed tail to the front and grows (or shrinks back) the buffer for the next frame.</summary>
    private void MakeRoom(int required)
    {
        int pending = _end - _start;
        int wanted = Math.Max(required, pending + 1);
        if (pending == 0 && _buffer.Length > RetainedBufferSize && required <= InitialBufferSize)
        {
            // One huge frame should not pin a huge buffer for the rest of the connection.
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            _start = 0;
            _end = 0;
            return;
        }
        else if (wanted > _buffer.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(wanted, _buffer.Length * 2));
            _buffer.AsSpan(_start, pending).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
            _start = 0;
            _end = pending;
            return;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }
    }

    /// <summary>Sends what is buffered plus a progress frame now (a filter is still working at end of message).</summary>
    void IProgressSender.SendProgress()
    {
        if (_loop.IsCurrentThread)
        {
            // From a synchronous callback: the loop is inside this connection, nothing else sends.
            SendProgressBlocking();
            return;
        }

        SendProgressWhileWaiting(Volatile.Read(ref _generation));
    }

    private void SendProgressWhileWaiting(int generation)
    {
        lock (_sendLock)
        {
            // Only while a callback runs: afterwards the reply itself is on its way, and progress after it would be
            // taken for the answer to the next command.
            if (_state == State.Waiting && generation == _generation)
            {
                SendProgressBlocking();
            }
        }
    }

    private unsafe void SendProgressBlocking()
    {
        MilterFrameWriter.WriteEmpty(_session.Output, (byte)MilterResponse.Progress);
        while (!TryFlush())
        {
            // Rare (the MTA is waiting for this reply, so its socket has room): wait for room, off the fast path.
            Libc.PollFd poll = new() { Fd = _fd, Events = Libc.POLLOUT };
            if (Libc.Poll(&poll, 1, (int)Math.Min(int.MaxValue, _options.ReadTimeout.TotalMilliseconds)) == 0)
            {
                throw new ConnectionIOException(110 /* ETIMEDOUT */);
            }
        }
    }

    private void Fail(Exception exception)
    {
        switch (exception)
        {
            case MilterProtocolException ex:
                _session.Metrics?.ProtocolError();
                Log.ProtocolError(_log, Id, ex.Error.ToString(), ex.Message);
                Close(null);
                break;
            case ConnectionIOException ex:
                Close($"socket error: {ex.Message}");
                break;
            default:
                // A bug, not bad input: close this connection, say so, keep serving the others.
                Log.ConnectionFailed(_log, Id, exception);
                Close(null);
                break;
        }
    }

    /// <summary>Removes the descriptor, closes it, runs the filters' close callbacks and tells the owner. Loop thread only.</summary>
    private void Close(string? reason)
    {
        if (_state == State.Closed)
        {
            return;
        }

        bool registered = _state != State.New;
        _state = State.Closed;
        if (reason is not null)
        {
            Log.ConnectionDropped(_log, Id, reason);
        }

        if (registered)
        {
            _loop.Unregister(_fd, _token);
        }

        if (_socket is not null)
        {
            _socket.Dispose();
        }
        else
        {
            Libc.Close(_fd);
        }

        _progressTimer?.Dispose();
        _progressTimer = null;
        ValueTask closing;
        try
        {
            closing = _session.CloseSessionAsync();
        }
        catch (Exception ex)
        {
            closing = ValueTask.FromException(ex);
        }

        if (closing.IsCompleted)
        {
            Finish(closing);
        }
        else
        {
            _ = FinishAsync(closing);
        }
    }

    private async Task FinishAsync(ValueTask closing)
    {
        try
        {
            await closing.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, Id, ex);
        }

        Finish(ValueTask.CompletedTask);
    }

    private void Finish(ValueTask closed)
    {
        try
        {
            closed.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, Id, ex);
        }

        ConnectionSummary.Write(_log, Id, _session.ClientBytes, _session.Messages, _session.QueueIdBytes,
            VerdictNames.Of(_session.LastVerdict), Stopwatch.GetElapsedTime(_started).TotalMilliseconds);

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _owner.ConnectionClosed(this);
        if (_pool is not null && _loop.IsCurrentThread)
        {
            _pool.Return(this);
        }
    }
}

/// <summary>Whoever started a connection and wants to know when it is gone.</summary>
internal interface IConnectionOwner
{
    void ConnectionClosed(MilterConnection connection);
}
