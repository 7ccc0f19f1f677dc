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
/// waiting for room), <b>waiting</b> (a filter's async callback is running; the loop watches only for a hang-up
/// until the callback completes and posts the connection back), <b>closed</b>. Only the loop's thread changes state
/// or writes to the socket; another thread that wants progress sent asks the loop to send it.
/// <para>
/// Every wait has a deadline, checked on the loop's ticks (<see cref="CheckDeadlines"/>): the option negotiation
/// from the connect, each frame from its first byte, the next command (only complete frames count), replies the MTA
/// does not take, and each callback. Every byte a peer can make it hold is bounded: the frame buffer by the packet
/// size (beyond its working size it is reserved from the process's <see cref="MemoryBudget"/> and dropped after the
/// frame), the rest by the session's own bounds.
/// </para>
/// </remarks>
internal sealed class MilterConnection : IEventHandler, ILoopWork, IProgressSender
{
    private const int InitialBufferSize = 8 * 1024;
    private const int RetainedBufferSize = 64 * 1024;
    private const int FramePending = -1;
    private const int OutputFull = -2;
    private const long BlockedLoopWarningMilliseconds = 1000;

    // How long a callback whose token fired may take to return before it is abandoned.
    private const long AbandonGraceMilliseconds = 1000;

    // Replies the MTA takes: each time this much more was taken, the deadline for taking the rest starts again.
    private const int FlushProgressBytes = 64 * 1024;

    private EventLoop _loop;
    private readonly ConnectionPool? _pool;
    private int _fd;
    private Socket? _socket;
    private readonly MilterSession _session;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private readonly IConnectionOwner _owner;
    private readonly Action _postToLoop;
    private readonly MemoryBudget? _budget;
    private readonly ProgressRequest _progressRequest;
    private long _started = Stopwatch.GetTimestamp();

    private byte[] _buffer;
    private long _bufferReserved;
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
    private bool _descriptorOpen;
    private bool _hungUp;
    private byte _lastCommand;
    private int _generation;
    private int _progressRequested;

    // Deadlines, in loop milliseconds (EventLoop.Now).
    private long _openedAt;
    private long _lastCommandAt;
    private long _partialSince;
    private long _flushSince;
    private int _flushMark;
    private long _callbackDeadline;
    private bool _callbackCancelled;
    private long _nextProgressAt = long.MaxValue;
    private ValueTask _wait;

    /// <param name="fd">The connected descriptor, non-blocking.</param>
    /// <param name="socket">The socket that owns <paramref name="fd"/> when the caller made one (it is disposed at close); null: the descriptor is closed directly.</param>
    /// <param name="pool">Where the connection goes back after it closed, to serve a later descriptor (null: not reused).</param>
    /// <param name="budget">Where frame buffers above their working size are reserved (null: unbounded, for tests).</param>
    public MilterConnection(EventLoop loop, int fd, Socket? socket, MilterSession session, MilterServerOptions options, ILogger log, IConnectionOwner owner, ConnectionPool? pool = null, MemoryBudget? budget = null)
    {
        _pool = pool;
        _budget = budget;
        _progressRequest = new ProgressRequest(this);
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
        _generation++;
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
        _descriptorOpen = false;
        _hungUp = false;
        _callbackCancelled = false;
        _nextProgressAt = long.MaxValue;
        Volatile.Write(ref _progressRequested, 0);
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
        _openedAt = _loop.Now;
        _lastCommandAt = _openedAt;
        _partialSince = 0;
        _descriptorOpen = true;
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
        _loop.RequestTick(_openedAt + (long)_options.NegotiationTimeout.TotalMilliseconds);
    }

    /// <summary>Closes the connection now, or as soon as a running callback completes. Loop thread only.</summary>
    public void Cut(string reason)
    {
        if (_state == State.Waiting)
        {
            // The callback is told to stop; if it does not, it is abandoned after the grace period.
            _cutRequested = true;
            if (!_callbackCancelled)
            {
                _callbackCancelled = true;
                _callbackDeadline = _loop.Now;
                _session.Context.AbortCallback();
                _loop.RequestTick(_loop.Now + AbandonGraceMilliseconds);
            }

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
                case State.Waiting:
                    // Only a hang-up or an error is watched for while a callback runs (one-shot).
                    OnHangUpWhileWaiting();
                    break;
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
            ExecutionContext.Run(flowed, state => ((MilterConnection)state!).GuardedCheckDeadlines(now), this);
            return;
        }

        GuardedCheckDeadlines(now);
    }

    private void GuardedCheckDeadlines(long now)
    {
        try
        {
            CheckDeadlines(now);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    /// <summary>Closes the connection whose current wait passed its deadline; asks for an earlier tick when one is near.</summary>
    private void CheckDeadlines(long now)
    {
        switch (_state)
        {
            case State.Reading:
                if (!_session.IsNegotiated)
                {
                    if (Passed(now, _openedAt, _options.NegotiationTimeout))
                    {
                        Close($"no option negotiation within {Seconds(_options.NegotiationTimeout)}s of connecting");
                        return;
                    }
                }

                if (_end > _start)
                {
                    if (Passed(now, _partialSince, _options.FrameTimeout))
                    {
                        Close($"a frame did not arrive whole within {Seconds(_options.FrameTimeout)}s of its first byte ({_end - _start} of {Math.Max(_required, _end - _start + 1)} bytes)");
                    }
                }
                else if (Passed(now, _lastCommandAt, _options.ReadTimeout))
                {
                    Close($"no command from the MTA for {Seconds(_options.ReadTimeout)}s");
                }
                else
                {
                    ShrinkIdleBuffer();
                }

                break;
            case State.Flushing:
                if (Passed(now, _flushSince, _options.FrameTimeout))
                {
                    Close($"the MTA did not take replies for {Seconds(_options.FrameTimeout)}s");
                }

                break;
            case State.Waiting:
                CheckCallbackDeadline(now);
                break;
        }
    }

    private bool Passed(long now, long since, TimeSpan limit)
    {
        long at = since + (long)limit.TotalMilliseconds;
        if (now >= at)
        {
            return true;
        }

        _loop.RequestTick(at);
        return false;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A callback runs: at its deadline its token fires and its result will be replaced by the fallback; if it still
    /// has not returned a grace period later, it is abandoned. Until the deadline, progress keeps an end of message's
    /// MTA waiting: progress is never sent past it, so the MTA's own timeout is not held off for ever.
    /// </summary>
    private void CheckCallbackDeadline(long now)
    {
        if (!_callbackCancelled)
        {
            if (now >= _callbackDeadline)
            {
                _callbackCancelled = true;
                Log.CallbackTimedOut(_log, Id, _session.PendingCallback, _options.CallbackTimeout.TotalSeconds);
                _session.CallbackDeadlinePassed();
                _loop.RequestTick(now + AbandonGraceMilliseconds);
                return;
            }

            _loop.RequestTick(_callbackDeadline);
            if (now >= _nextProgressAt)
            {
                SendProgressNow();
                _nextProgressAt = now + (long)_options.ProgressInterval.TotalMilliseconds;
            }

            _loop.RequestTick(_nextProgressAt);
            return;
        }

        if (now >= _callbackDeadline + AbandonGraceMilliseconds)
        {
            Abandon();
        }
        else
        {
            _loop.RequestTick(_callbackDeadline + AbandonGraceMilliseconds);
        }
    }

    /// <summary>The MTA hung up (or the socket failed) while a callback runs: tell the callback, free the descriptor now.</summary>
    private void OnHangUpWhileWaiting()
    {
        if (_hungUp)
        {
            return;
        }

        _hungUp = true;
        Log.HungUpDuringCallback(_log, Id, _session.PendingCallback);
        ReleaseDescriptor();
        if (!_callbackCancelled)
        {
            _callbackCancelled = true;
            _callbackDeadline = _loop.Now;
            _session.Context.AbortCallback();
        }

        _loop.RequestTick(_callbackDeadline + AbandonGraceMilliseconds);
    }

    /// <summary>Gives up on a callback that ignored its token: the fallback goes to the MTA (if it still listens), the connection closes.</summary>
    private void Abandon()
    {
        string outcome = "the connection closed";
        if (!_hungUp)
        {
            _session.AbandonPending();
            try
            {
                outcome = TryFlush() ? "the fallback verdict sent" : "the fallback verdict queued";
            }
            catch (ConnectionIOException)
            {
                // The MTA is gone as well; nothing more to tell it.
            }
        }

        Log.CallbackAbandoned(_log, Id, _session.PendingCallback, AbandonGraceMilliseconds, outcome);
        Close(null, abandoned: true);
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
            if (_abandoned && _state == State.Closed)
            {
                // The abandoned callback returned at last: its result is dropped unread, and what its session held
                // (reserved from the budget until now, since the callback could still use it) is given back.
                _abandoned = false;
                _session.ReleaseBuffers();
                _owner.AbandonedCallbackReturned(this);
            }

            return;
        }

        try
        {
            StopWaiting();
            if (_hungUp)
            {
                Close("the MTA hung up while a callback ran");
                return;
            }

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
        if (!MakeRoom(_required))
        {
            Close($"the daemon's memory budget (--max-memory {_budget!.Limit} bytes) has no room for a {_required}-byte frame");
            return;
        }

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
                _required = required < 0 ? 0 : required;
                if (_state != State.Flushing)
                {
                    _flushSince = _loop.Now;
                    _flushMark = _sent;
                }

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

            if (required == OutputFull)
            {
                // The replies went out: on with the frames still buffered.
                continue;
            }

            if (_session.IsQuit)
            {
                Close(null);
                return;
            }

            _required = required;
            if (_end == _start)
            {
                _partialSince = 0;
            }
            else if (_partialSince == 0)
            {
                // The first byte of the frame at the front: from now on it has FrameTimeout to arrive whole.
                _partialSince = _loop.Now;
                _loop.RequestTick(_partialSince + (long)_options.FrameTimeout.TotalMilliseconds);
            }

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
    /// Processes every complete frame in the buffer; returns how many bytes the next frame needs in all,
    /// <see cref="FramePending"/> when a callback of the frame at the front is still running, or
    /// <see cref="OutputFull"/> when the replies not yet sent reach the output's working size (an MTA that pipelines
    /// commands and does not read the replies gets no more answers until it does, so they cannot pile up).
    /// </summary>
    private int ProcessBufferedFrames()
    {
        while (!_session.IsQuit)
        {
            if (_session.Output.WrittenCount - _sent >= MilterSession.OutputWorkingSize)
            {
                return OutputFull;
            }

            ReadOnlySpan<byte> pending = _buffer.AsSpan(_start, _end - _start);
            if (!MilterFrameReader.TryReadFrame(pending, _options.MaxPacketSize, out MilterFrame frame, out int length, out int required))
            {
                return required;
            }

            _lastCommand = frame.Command;
            _lastCommandAt = _loop.Now;
            bool done = _resumeFrame ? _session.Resume(frame) : _session.Process(frame);
            _resumeFrame = !done;
            if (!done)
            {
                _callbackRunning = true;
                return FramePending;
            }

            _start += length;
            _partialSince = 0;
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

        // One-shot, and only a hang-up: more commands the MTA sends meanwhile wait in the socket until the
        // callback is done; a hang-up is reported once and cancels the callback.
        SetState(State.Waiting, Libc.EPOLLRDHUP | Libc.EPOLLONESHOT);
        long now = _loop.Now;
        _callbackCancelled = false;
        _callbackDeadline = now + (long)_options.CallbackTimeout.TotalMilliseconds;
        _loop.RequestTick(_callbackDeadline);
        _nextProgressAt = long.MaxValue;
        if (_session.IsWaitingForEndOfMessage && _options.ProgressInterval > TimeSpan.Zero)
        {
            _nextProgressAt = now + (long)_options.ProgressInterval.TotalMilliseconds;
            _loop.RequestTick(_nextProgressAt);
        }

        _wait.GetAwaiter().UnsafeOnCompleted(_postToLoop);
        return true;
    }

    private void StopWaiting()
    {
        // Back to the loop's own state; Pump picks reading or flushing next and re-arms the descriptor.
        _state = State.Reading;
        _interestStale = true;
        _nextProgressAt = long.MaxValue;
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
            if (_sent - _flushMark >= FlushProgressBytes)
            {
                _flushMark = _sent;
                _flushSince = _loop.Now;
            }

            data = data[(int)sent..];
        }

        _sent = 0;
        _flushMark = 0;
        _session.Output.Reset();
        _session.Output.ShrinkTo(MilterSession.OutputWorkingSize);
        return true;
    }

    /// <summary>
    /// Moves the unparsed tail to the front and grows the buffer for the next frame (<see cref="ShrinkIdleBuffer"/>
    /// gives it back); false when the memory budget has no room for the frame.
    /// </summary>
    private bool MakeRoom(int required)
    {
        int pending = _end - _start;
        int wanted = Math.Max(required, pending + 1);
        if (wanted > _buffer.Length)
        {
            // Doubling, but never past the largest frame allowed: a frame's buffer is at most its own size.
            long largest = (long)_options.MaxPacketSize + MilterFrameReader.HeaderSize;
            int capacity = (int)Math.Max(wanted, Math.Min((long)_buffer.Length * 2, largest));

            // Everything past the working size counts against the budget; up to RetainedBufferSize it comes from the
            // shared pool, beyond it from the GC, not pooled, so it goes back after the frame (the shared pool keeps
            // what it is given, for ever).
            long reserved = capacity - InitialBufferSize;
            if (_budget is not null && !_budget.TryReserve(reserved))
            {
                return false;
            }

            byte[] bigger = capacity <= RetainedBufferSize ? ArrayPool<byte>.Shared.Rent(capacity) : GC.AllocateUninitializedArray<byte>(capacity);
            _buffer.AsSpan(_start, pending).CopyTo(bigger);
            FreeBuffer();
            _buffer = bigger;
            _bufferReserved = reserved;
            _start = 0;
            _end = pending;
            return true;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }

        return true;
    }

    /// <summary>
    /// A buffer grown for a large frame goes back to its working size once nothing is pending at a tick: one huge
    /// frame does not pin a huge buffer for the rest of the connection, while a run of large frames (a peer sending
    /// big headers back to back) reuses one buffer instead of allocating one per frame.
    /// </summary>
    private void ShrinkIdleBuffer()
    {
        if (_end == _start && _buffer.Length > InitialBufferSize)
        {
            FreeBuffer();
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            _start = 0;
            _end = 0;
        }
    }

    /// <summary>Gives the receive buffer back to the budget, and to the shared pool (up to 64 KiB) or the GC.</summary>
    private void FreeBuffer()
    {
        _budget?.Release(_bufferReserved);
        _bufferReserved = 0;
        if (_buffer.Length is > 0 and <= RetainedBufferSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
    }

    /// <summary>
    /// Sends a progress frame now (a filter is still working at end of message). From a synchronous callback the
    /// loop is inside this connection and writes it itself; from any other thread the loop is asked to, since only
    /// the loop writes to the socket.
    /// </summary>
    void IProgressSender.SendProgress()
    {
        if (_loop.IsCurrentThread)
        {
            SendProgressNow();
            return;
        }

        if (Interlocked.Exchange(ref _progressRequested, 1) == 0)
        {
            _loop.Post(_progressRequest);
        }
    }

    private void OnProgressRequested()
    {
        Volatile.Write(ref _progressRequested, 0);

        // Only while an end of message is pending and before its deadline: after the reply, progress would be taken
        // for the answer to the next command; past the deadline it would hold off the MTA's own timeout.
        if (_state == State.Waiting && !_hungUp && !_callbackCancelled && _session.IsWaitingForEndOfMessage)
        {
            SendProgressNow();
        }
    }

    /// <summary>Queues a progress frame and sends what the socket takes without waiting; a failure is left for the next read or write to find.</summary>
    private void SendProgressNow()
    {
        MilterFrameWriter.WriteEmpty(_session.Output, (byte)MilterResponse.Progress);
        try
        {
            TryFlush();
        }
        catch (ConnectionIOException)
        {
            // The MTA is gone: a hang-up while waiting is noticed by epoll; otherwise the next write fails again.
        }
    }

    /// <summary>A progress request handed to the loop (one per connection, reused).</summary>
    private sealed class ProgressRequest(MilterConnection connection) : ILoopWork
    {
        public void Execute()
        {
            try
            {
                connection.OnProgressRequested();
            }
            catch (Exception ex)
            {
                connection.Fail(ex);
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

    /// <summary>Stops watching the descriptor and closes it, once.</summary>
    private void ReleaseDescriptor()
    {
        if (!_descriptorOpen)
        {
            return;
        }

        _descriptorOpen = false;
        _loop.RemoveDescriptor(_fd);
        if (_socket is not null)
        {
            _socket.Dispose();
        }
        else
        {
            Libc.Close(_fd);
        }
    }

    /// <summary>
    /// Closes the descriptor, runs the filters' close callbacks and tells the owner. An abandoned connection (its
    /// callback never returned) skips the close callbacks (the filter is still busy) and is not pooled: the callback
    /// may still touch its context. Loop thread only.
    /// </summary>
    private void Close(string? reason, bool abandoned = false)
    {
        if (_state == State.Closed)
        {
            return;
        }

        bool registered = _state != State.New;
        _state = State.Closed;
        _abandoned = abandoned;
        if (reason is not null)
        {
            Log.ConnectionDropped(_log, Id, reason);
        }

        if (registered)
        {
            ReleaseDescriptor();
            _loop.Release(_token);
        }
        else if (_socket is not null)
        {
            _socket.Dispose();
        }
        else
        {
            Libc.Close(_fd);
        }

        _descriptorOpen = false;
        if (abandoned)
        {
            Finish(ValueTask.CompletedTask);
            return;
        }

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

    private bool _abandoned;

    /// <summary>True from the moment a callback is abandoned until it returns (the session is still in its hands).</summary>
    internal bool IsAbandoned => _abandoned;

    /// <summary>
    /// Close callbacks that did not complete at once: awaited up to the callback deadline (the descriptor is already
    /// closed, so no hang-up can come to end the wait). Past it the token fires and the connection is counted as
    /// closed but never reused; what its session holds goes back if the callbacks ever return.
    /// </summary>
    private async Task FinishAsync(ValueTask closing)
    {
        Task closed = closing.AsTask();
        try
        {
            await closed.WaitAsync(_options.CallbackTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _session.Context.AbortCallback();
            Log.CloseCallbacksAbandoned(_log, Id, _session.FilterNames, _options.CallbackTimeout.TotalSeconds);
            _abandoned = true;
            Finish(ValueTask.CompletedTask);
            _ = closed.ContinueWith(static (_, state) =>
            {
                var connection = (MilterConnection)state!;
                connection._session.ReleaseBuffers();
                connection._owner.AbandonedCallbackReturned(connection);
            }, this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return;
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

        FreeBuffer();
        _owner.ConnectionClosed(this);
        if (_abandoned)
        {
            return;
        }

        _session.ReleaseBuffers();
        if (_pool is not null && _loop.IsCurrentThread)
        {
            _pool.Return(this);
        }
    }
}

/// <summary>Whoever started a connection and wants to know when it is gone.</summary>
internal interface IConnectionOwner
{
    /// <summary>
    /// The connection is closed. When <see cref="MilterConnection.IsAbandoned"/>, a callback it gave up on still holds
    /// its session; <see cref="AbandonedCallbackReturned"/> follows when that callback returns.
    /// </summary>
    void ConnectionClosed(MilterConnection connection);

    /// <summary>A callback abandoned at its deadline has returned at last, and what its session held is given back.</summary>
    void AbandonedCallbackReturned(MilterConnection connection);
}
