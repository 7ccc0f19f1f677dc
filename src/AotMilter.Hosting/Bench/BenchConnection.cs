using System.Diagnostics;
using AotMilter.Protocol;
using AotMilter.Server.Interop;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// One MTA-side milter connection of the load generator, replayed over and over: connect, negotiate, CONNECT, HELO,
/// then per message MAIL, RCPT, DATA, headers, end of headers, body, end of message (ABORT between two messages of one
/// connection), QUIT at the end; then a fresh connection for the next message. Events the milter opted out of are not
/// sent, replies it opted out of are not awaited, and frames that await no reply go out in one write with the next.
/// <para>
/// A state machine on a raw non-blocking descriptor, run by its <see cref="BenchLoop"/>'s thread only. Nothing is
/// allocated per message: frames are built once (<see cref="BenchPackets"/>), a single frame is sent straight from its
/// array, a run of frames is copied into one reused output buffer, and replies are parsed in place in one receive
/// buffer. After a failure (counted as an error) the connection is closed and the next message goes on a new one.
/// </para>
/// </summary>
internal sealed unsafe partial class BenchConnection
{
    private const int MaxBackoffMilliseconds = 20;

    private readonly BenchRun _run;
    private readonly BenchLoop _loop;
    private readonly BenchPackets _packets;
    private readonly int _id;
    private readonly int _token;
    private readonly byte[] _mail;
    private readonly byte[] _endOfMessage;
    private BenchMessage _message;
    private readonly ByteBufferWriter _out = new(8 * 1024);
    private byte[]? _single;
    private int _sent;
    private readonly ReceiveBuffer _in = new(4 * 1024);
    private int _fd = -1;
    private Phase _phase;
    private bool _watchingWrite;

    private uint _version;
    private ProtocolFlags _protocol;
    private Step _step;
    private Step _next;
    private long _since;
    private long _retryAt;
    private int _backoffMs;
    private int _header;
    private int _body;
    private int _onConnection;
    private bool _gotHeader;
    private long _messageStart;
    private bool _opened;
    private bool _settled;

    public BenchConnection(BenchRun run, BenchLoop loop, int id)
    {
        _run = run;
        _loop = loop;
        _packets = run.Packets;
        _id = id;
        _mail = (byte[])_packets.Mail.Clone();
        _endOfMessage = (byte[])_packets.EndOfMessage.Clone();
        _message = _packets.Messages[0];
        _token = loop.Add(this);
    }

    private enum Phase : byte
    {
        /// <summary>Between two connections.</summary>
        Closed,

        /// <summary>A TCP connect in progress.</summary>
        Connecting,

        /// <summary>Waiting to connect again: the listen backlog was full, or a connect failed.</summary>
        Retrying,

        /// <summary>Connected, and the last step settled: queue what comes next.</summary>
        Ready,

        /// <summary>Frames queued for <see cref="_next"/>, not all written yet.</summary>
        Sending,

        /// <summary>Waiting for the reply to <see cref="_next"/>.</summary>
        Awaiting,

        /// <summary>Idle mode: negotiated and held open until the run releases it.</summary>
        Idle,

        Done,
    }

    private enum SendStatus : byte
    {
        Sent,
        Pending,
        Failed,
    }

    /// <summary>Opens the first connection. Loop thread.</summary>
    public void Start()
    {
        if (BeginConnection())
        {
            Drive(mayRead: false);
        }
    }

    /// <summary>The descriptor is ready. Loop thread.</summary>
    public void OnEvents(uint events)
    {
        switch (_phase)
        {
            case Phase.Connecting:
                int error = PendingError();
                if (error != 0)
                {
                    CloseSocket();
                    ConnectFailed($"connect {_run.Settings.Socket}: {Libc.Describe(error)}");
                    return;
                }

                Connected();
                _loop.Modify(_fd, Libc.EPOLLIN, _token);
                Drive(mayRead: false);
                return;
            case Phase.Sending:
            case Phase.Awaiting:
                Drive(mayRead: (events & (Libc.EPOLLIN | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0);
                return;
            case Phase.Idle:
                IdleReadable();
                return;
        }
    }

    /// <summary>A few times a second: retries, timeouts, and the end of idle mode. Loop thread.</summary>
    public void OnTick(long now)
    {
        switch (_phase)
        {
            case Phase.Retrying when now >= _retryAt:
                _messageStart = now;
                if (Connect())
                {
                    Drive(mayRead: false);
                }

                return;
            case Phase.Idle when _run.Released:
                Queue(_packets.Quit);
                BeginSending(Step.Quit);
                Drive(mayRead: false);
                return;
            case Phase.Connecting or Phase.Sending or Phase.Awaiting when _since != 0 && now - _since > _run.TimeoutTicks:
                TimedOut();
                return;
        }
    }

    /// <summary>
    /// Moves the conversation on as far as it can without blocking: queue, send, read and check replies, and on to the
    /// next connection. One recv per call at most (<paramref name="mayRead"/>: epoll said so); a loop, not recursion,
    /// however many messages, failures or connections follow one another.
    /// </summary>
    private void Drive(bool mayRead)
    {
        while (true)
        {
            switch (_phase)
            {
                case Phase.Ready:
                    BeginSending(QueueUntilReply());
                    break;
                case Phase.Sending:
                    SendStatus sent = Flush();
                    if (sent == SendStatus.Pending)
                    {
                        return;
                    }

                    if (sent == SendStatus.Failed || _next == Step.Quit)
                    {
                        if (!Reconnect())
                        {
                            return;
                        }
                    }
                    else if (_next == Step.Idle)
                    {
                        _since = 0;
                        _phase = Phase.Idle;
                        _settled = true;
                        _run.IdleSettled(idle: true);
                        return;
                    }
                    else
                    {
                        _phase = Phase.Awaiting;
                    }

                    break;
                case Phase.Awaiting:
                    Outcome outcome = TakeReply(out int required);
                    if (outcome == Outcome.Proceed)
                    {
                        _since = 0;
                        _phase = Phase.Ready;
                    }
                    else if (outcome == Outcome.Failed)
                    {
                        if (!Reconnect())
                        {
                            return;
                        }
                    }
                    else if (required > 0)
                    {
                        // No whole frame yet: the frames handled so far may be overwritten.
                        _in.MakeRoom(required);
                        if (!mayRead)
                        {
                            return;
                        }

                        mayRead = false;
                        if (!Receive(out int error))
                        {
                            if (error == Libc.EAGAIN)
                            {
                                return;
                            }

                            if (error == Libc.EINTR)
                            {
                                mayRead = true;
                                break;
                            }

                            _run.Error(error == 0
                                ? $"conn {_id}: connection closed by filter while waiting for {Name(_next)} reply"
                                : $"conn {_id}: {Libc.Describe(error)} while waiting for {Name(_next)} reply");
                            if (!Reconnect())
                            {
                                return;
                            }
                        }
                    }

                    break;
                default:
                    return;
            }
        }
    }

    private void BeginSending(Step awaited)
    {
        _next = awaited;
        _sent = 0;
        _since = Stopwatch.GetTimestamp();
        _phase = Phase.Sending;
    }

    /// <summary>Claims the next message (idle mode: the one connection) and connects; true when connected at once.</summary>
    private bool BeginConnection()
    {
        if (_run.Settings.Idle > 0)
        {
            if (_opened)
            {
                Finish();
                return false;
            }

            _opened = true;
            _messageStart = Stopwatch.GetTimestamp();
        }
        else
        {
            if (!_run.TryBeginMessage(out long number))
            {
                Finish();
                return false;
            }

            BeginMessage(number);
        }

        _backoffMs = 0;
        return Connect();
    }

    /// <summary>Closes this connection and goes on with a new one; false when there is nothing more to send.</summary>
    private bool Reconnect()
    {
        CloseSocket();
        return BeginConnection();
    }

    /// <summary>Opens a socket and connects without blocking; true when connected (unix sockets connect at once).</summary>
    private bool Connect()
    {
        BenchAddress address = _run.Address;
        int fd = Libc.Socket(address.Family, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return ConnectFailed($"socket(): {Libc.Describe(Libc.LastError)}");
        }

        int error = 0;
        fixed (byte* sockaddr = address.Bytes)
        {
            if (Libc.Connect(fd, sockaddr, (uint)address.Bytes.Length) != 0)
            {
                error = Libc.LastError;
            }
        }

        if (error is 0 or Libc.EINPROGRESS)
        {
            if (!_loop.Register(fd, error == 0 ? Libc.EPOLLIN : Libc.EPOLLOUT, _token))
            {
                error = Libc.LastError;
                Libc.Close(fd);
                return ConnectFailed($"epoll_ctl: {Libc.Describe(error)}");
            }

            _fd = fd;
            if (error == 0)
            {
                Connected();
                return true;
            }

            _since = Stopwatch.GetTimestamp();
            _phase = Phase.Connecting;
            return false;
        }

        Libc.Close(fd);
        if (error == Libc.EAGAIN)
        {
            // A full listen backlog (unix sockets say EAGAIN): try again shortly; not an error.
            _run.ConnectRetried();
            RetryLater();
            return false;
        }

        return ConnectFailed($"connect {_run.Settings.Socket}: {Libc.Describe(error)}");
    }

    private void Connected()
    {
        _since = 0;
        _run.Connected();
        if (_run.Address.IsTcp)
        {
            Libc.SetTcpNoDelay(_fd);
        }

        _step = Step.Negotiate;
        _onConnection = 0;
        _in.Clear();
        _phase = Phase.Ready;
    }

    /// <summary>Counts a failed connect; the message goes back to the budget and the next one is tried shortly.</summary>
    private bool ConnectFailed(string reason)
    {
        _run.Error($"conn {_id}: {reason}");
        if (_run.Settings.Idle > 0)
        {
            Finish();
            return false;
        }

        _run.ReturnMessage();
        if (!_run.TryBeginMessage(out long number))
        {
            Finish();
            return false;
        }

        BeginMessage(number);
        RetryLater();
        return false;
    }

    private void RetryLater()
    {
        _since = 0;
        _backoffMs = Math.Min(_backoffMs == 0 ? 1 : _backoffMs * 2, MaxBackoffMilliseconds);
        _retryAt = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * _backoffMs / 1000);
        _phase = Phase.Retrying;
    }

    private void TimedOut()
    {
        if (_phase == Phase.Connecting)
        {
            CloseSocket();
            ConnectFailed($"timeout connecting to {_run.Settings.Socket}");
            return;
        }

        _run.Error(_phase == Phase.Sending
            ? $"conn {_id}: timeout sending {Name(_next)}"
            : $"conn {_id}: timeout waiting for {Name(_next)} reply");
        if (Reconnect())
        {
            Drive(mayRead: false);
        }
    }

    /// <summary>Writes what is queued; waits for EPOLLOUT (and only that) when the socket buffer is full.</summary>
    private SendStatus Flush()
    {
        ReadOnlySpan<byte> data = _single is not null ? _single : _out.WrittenSpan;
        while (_sent < data.Length)
        {
            nint written;
            fixed (byte* p = data)
            {
                written = Libc.Send(_fd, p + _sent, data.Length - _sent, Libc.MSG_NOSIGNAL);
            }

            if (written >= 0)
            {
                _sent += (int)written;
                continue;
            }

            int error = Libc.LastError;
            if (error == Libc.EINTR)
            {
                continue;
            }

            if (error == Libc.EAGAIN)
            {
                // Only EPOLLOUT until the rest is written: a readable socket (EOF) must not spin the loop meanwhile.
                if (!_watchingWrite)
                {
                    _watchingWrite = true;
                    _loop.Modify(_fd, Libc.EPOLLOUT, _token);
                }

                return SendStatus.Pending;
            }

            _run.Error($"conn {_id}: {Libc.Describe(error)} while sending");
            return SendStatus.Failed;
        }

        if (_watchingWrite)
        {
            _watchingWrite = false;
            _loop.Modify(_fd, Libc.EPOLLIN, _token);
        }

        _single = null;
        _out.Reset();
        _sent = 0;
        return SendStatus.Sent;
    }

    /// <summary>Reads once into the receive buffer; false with the errno (0: end of stream) when nothing came.</summary>
    private bool Receive(out int error)
    {
        nint received;
        fixed (byte* p = _in.Array)
        {
            received = Libc.Recv(_fd, p + _in.End, _in.Capacity - _in.End, 0);
        }

        if (received > 0)
        {
            _in.Commit((int)received);
            error = 0;
            return true;
        }

        error = received == 0 ? 0 : Libc.LastError;
        return false;
    }

    /// <summary>An idle connection became readable: the milter closed it or said something unasked.</summary>
    private void IdleReadable()
    {
        _in.Clear();
        if (Receive(out int error) || error is not (Libc.EAGAIN or Libc.EINTR))
        {
            _run.Error(error == 0 && _in.UnreadLength == 0
                ? $"conn {_id}: connection closed by filter while idle"
                : _in.UnreadLength > 0
                    ? $"conn {_id}: unexpected bytes from the filter while idle"
                    : $"conn {_id}: {Libc.Describe(error)} while idle");
            Finish();
        }
    }

    /// <summary>The outcome of a non-blocking connect (SO_ERROR).</summary>
    private int PendingError()
    {
        int value = 0;
        uint size = sizeof(int);
        return Libc.GetSockOpt(_fd, Libc.SOL_SOCKET, Libc.SO_ERROR, &value, &size) == 0 ? value : Libc.LastError;
    }

    private void CloseSocket()
    {
        if (_fd >= 0)
        {
            // Closing the only descriptor also takes it out of the epoll set.
            Libc.Close(_fd);
            _fd = -1;
        }

        _since = 0;
        _watchingWrite = false;
        _single = null;
        _sent = 0;
        _out.Reset(); // kept at its size: every connection of the run queues the same frames
        _phase = Phase.Closed;
    }

    private void Finish()
    {
        if (_phase == Phase.Done)
        {
            return;
        }

        CloseSocket();
        _phase = Phase.Done;
        if (_run.Settings.Idle > 0 && !_settled)
        {
            _settled = true;
            _run.IdleSettled(idle: false);
        }

        _loop.Finished();
    }
}
