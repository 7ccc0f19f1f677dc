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
internal sealed partial class MilterConnection : IEventHandler, ILoopWork, IProgressSender
{
    private const int InitialBufferSize = 8 * 1024;
    private const int RetainedBufferSize = 64 * 1024;
    private const int FramePending = -1;
    private const int OutputFull = -2;

    // What the replies buffer holds without a reservation from the budget: it shrinks back to this after a flush.
    internal const int RepliesWorkingSize = 64 * 1024;

    // What the replies buffer keeps while the connection waits in the pool.
    private const int RepliesPooledSize = 4096;
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
    private readonly TimeProvider? _clock;
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
    private bool _frameSuspended;
    private bool _cutRequested;
    private bool _interestStale;
    private bool _waitingArmed;
    private uint _flowedEvents;
    private bool _descriptorOpen;
    private bool _hungUp;
    private bool _abandoned;
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

    // The reply frames the session wrote and the socket has not taken yet (from _sent on); progress frames go here too.
    private readonly ByteBufferWriter _replies;

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
        _clock = options.TimeProvider == TimeProvider.System ? null : options.TimeProvider;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        _postToLoop = () => _loop.Post(this);
        _replies = new ByteBufferWriter(512) { Budget = budget, UnreservedCapacity = RepliesWorkingSize };
        session.Attach(_replies, this);
    }

    /// <summary>True from the moment a callback is abandoned until it returns (the session is still in its hands).</summary>
    internal bool IsAbandoned => _abandoned;

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
        if (_buffer.Length == 0)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        }

        _start = 0;
        _end = 0;
        _required = 0;
        _sent = 0;
        _token = 0;
        _state = State.New;
        _callbackRunning = false;
        _frameSuspended = false;
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
        _openedAt = Now;
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
        RequestTickAt(_openedAt + (long)_options.NegotiationTimeout.TotalMilliseconds);
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
                _callbackDeadline = Now;
                _session.ContextControl.AbortCallback();
                RequestTickAt(Now + AbandonGraceMilliseconds);
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
            _flowedEvents = events;
            ExecutionContext.Run(flowed, static state =>
            {
                var connection = (MilterConnection)state!;
                connection.HandleEvents(connection._flowedEvents);
            }, this);
            return;
        }

        HandleEvents(events);
    }

    private void HandleEvents(uint events)
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
                    if (!_waitingArmed && (events & (Libc.EPOLLRDHUP | Libc.EPOLLHUP | Libc.EPOLLERR)) == 0)
                    {
                        // The MTA sent more while the callback runs (commands that take no reply): it waits in the
                        // socket, and from now on only a hang-up is watched for, once.
                        ArmWaiting();
                        break;
                    }

                    OnHangUpWhileWaiting();
                    break;
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

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
                ReleaseSessionBuffers();
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
            if (_replies.WrittenCount > _sent && !TryFlush())
            {
                _required = required < 0 ? 0 : required;
                if (_state != State.Flushing)
                {
                    _flushSince = Now;
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
                _partialSince = Now;
                RequestTickAt(_partialSince + (long)_options.FrameTimeout.TotalMilliseconds);
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
            if (_replies.WrittenCount - _sent >= RepliesWorkingSize)
            {
                return OutputFull;
            }

            ReadOnlySpan<byte> pending = _buffer.AsSpan(_start, _end - _start);
            if (!MilterFrameReader.TryReadFrame(pending, _options.MaxPacketSize, out MilterFrame frame, out int length, out int required))
            {
                return required;
            }

            _lastCommand = frame.Command;
            _lastCommandAt = Now;
            bool done = _frameSuspended ? _session.Continue(frame.Payload) : _session.Process(frame);
            _frameSuspended = !done;
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

        // The descriptor stays as reading left it when it is armed for reading: the MTA waits for this reply and sends
        // nothing meanwhile, so the usual wait costs no epoll_ctl either way (two system calls per awaited callback,
        // which on a small machine are a measurable share of a Redis or scanner round trip). The first event says
        // either that the MTA hung up, or that it sent more after all; only then is the descriptor narrowed to a
        // hang-up. From any other interest (writing, or stale) it is narrowed at once.
        bool armedForReading = _state == State.Reading && !_interestStale;
        _state = State.Waiting;
        _waitingArmed = false;
        if (!armedForReading)
        {
            ArmWaiting();
        }

        long now = Now;
        _callbackCancelled = false;
        _callbackDeadline = now + (long)_options.CallbackTimeout.TotalMilliseconds;
        RequestTickAt(_callbackDeadline);
        _nextProgressAt = long.MaxValue;
        if (_session.IsWaitingForEndOfMessage && _options.ProgressInterval > TimeSpan.Zero)
        {
            _nextProgressAt = now + (long)_options.ProgressInterval.TotalMilliseconds;
            RequestTickAt(_nextProgressAt);
        }

        _wait.GetAwaiter().UnsafeOnCompleted(_postToLoop);
        return true;
    }

    private void StopWaiting()
    {
        // Back to the loop's own state; Pump picks reading or flushing next and re-arms the descriptor if the
        // wait narrowed it.
        _state = State.Reading;
        _interestStale |= _waitingArmed;
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

    /// <summary>
    /// One-shot, and only a hang-up: more commands the MTA sends meanwhile wait in the socket until the callback is
    /// done (a level-triggered read interest would report them again and again); a hang-up is reported once and
    /// cancels the callback.
    /// </summary>
    private void ArmWaiting()
    {
        _waitingArmed = true;
        _loop.Modify(_fd, _token, Libc.EPOLLRDHUP | Libc.EPOLLONESHOT);
    }

    private void SetState(State state, uint events)
    {
        if (_state != state || _interestStale)
        {
            _state = state;
            _interestStale = false;
            _loop.Modify(_fd, _token, events);
        }
    }
}
