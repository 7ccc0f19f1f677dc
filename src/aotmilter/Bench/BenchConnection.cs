using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using AotMilter.Protocol;

namespace AotMilter.Cli.Bench;

/// <summary>
/// One MTA-side milter connection of the load generator, replayed over and over: connect, negotiate, CONNECT, HELO,
/// then per message MAIL, RCPT, DATA, headers, end of headers, body, end of message (ABORT between two messages of one
/// connection), QUIT at the end; then a fresh connection for the next message. Events the milter opted out of are not
/// sent, replies it opted out of are not awaited, and frames that await no reply go out in one write with the next.
/// <para>
/// Nothing is allocated per message once a connection is open: frames are built once (<see cref="BenchPackets"/>),
/// a single frame is sent straight from its array, a run of frames is copied into one reused output buffer, replies
/// are parsed in place in one receive buffer, and the async helpers use pooled state machines.
/// </para>
/// </summary>
internal sealed class BenchConnection
{
    private const int MaxReplyLength = 64 * 1024 * 1024;

    private readonly BenchRun _run;
    private readonly BenchPackets _packets;
    private readonly int _id;
    private readonly byte[] _mail;
    private readonly ByteBufferWriter _out = new(8 * 1024);
    private ReadOnlyMemory<byte> _single;
    private byte[] _in = new byte[4 * 1024];
    private int _inStart;
    private int _inEnd;
    private Socket? _socket;

    private uint _version;
    private ProtocolFlags _protocol;
    private Step _step;
    private Step _awaiting;
    private long _awaitingSince;
    private volatile bool _timedOut;
    private int _header;
    private int _body;
    private int _onConnection;
    private bool _gotHeader;
    private long _messageStart;

    public BenchConnection(BenchRun run, int id)
    {
        _run = run;
        _packets = run.Packets;
        _id = id;
        _mail = (byte[])_packets.Mail.Clone();
    }

    /// <summary>Where a connection stands; the awaited steps name the event whose reply is awaited.</summary>
    private enum Step : byte
    {
        Connecting,
        Negotiate,
        Connect,
        Helo,
        Mail,
        Rcpt,
        Data,
        Header,
        EndOfHeaders,
        Body,
        EndOfMessage,
        MessageDone,
        Quit,
        Idle,
    }

    private enum Outcome : byte
    {
        Wait,
        Proceed,
        Failed,
    }

    private enum ReadStatus : byte
    {
        Frame,
        NeedMore,
        Bad,
    }

    /// <summary>Sends messages until the run's budget or time is used up.</summary>
    public async Task RunAsync()
    {
        while (_run.TryBeginMessage(out long number))
        {
            BeginMessage(number);
            Socket? socket = await ConnectAsync().ConfigureAwait(false);
            if (socket is null)
            {
                continue;
            }

            try
            {
                while (true)
                {
                    Step awaited = QueueUntilReply();
                    await SendQueuedAsync(socket).ConfigureAwait(false);
                    if (awaited == Step.Quit || await AwaitReplyAsync(socket, awaited).ConfigureAwait(false) == Outcome.Failed)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                SocketFailed(ex);
            }
            finally
            {
                Close(socket);
            }
        }
    }

    /// <summary>
    /// Idle mode: opens the connection and sends what an MTA sends before the first MAIL; reports through
    /// <paramref name="settled"/> (true: idle now, false: failed), then holds the connection until <paramref name="hold"/>
    /// completes and ends it with QUIT.
    /// </summary>
    public async Task RunIdleAsync(Task hold, Action<bool> settled)
    {
        bool idle = false;
        _messageStart = Stopwatch.GetTimestamp();
        Socket? socket = await ConnectAsync().ConfigureAwait(false);
        if (socket is null)
        {
            settled(false);
            return;
        }

        try
        {
            Step awaited;
            while ((awaited = QueueUntilReply()) != Step.Idle)
            {
                await SendQueuedAsync(socket).ConfigureAwait(false);
                if (await AwaitReplyAsync(socket, awaited).ConfigureAwait(false) == Outcome.Failed)
                {
                    return;
                }
            }

            await SendQueuedAsync(socket).ConfigureAwait(false);
            idle = true;
            settled(true);
            await hold.ConfigureAwait(false);
            Queue(_packets.Quit);
            await SendQueuedAsync(socket).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            SocketFailed(ex);
        }
        finally
        {
            Close(socket);
            if (!idle)
            {
                settled(false);
            }
        }
    }

    /// <summary>Called by the run's watchdog: closes the socket of a connection that waited too long for a reply.</summary>
    public void CheckTimeout(long now, long timeoutTicks)
    {
        long since = Volatile.Read(ref _awaitingSince);
        if (since != 0 && now - since > timeoutTicks && !_timedOut)
        {
            _timedOut = true;
            Volatile.Read(ref _socket)?.Dispose();
        }
    }

    private void BeginMessage(long number)
    {
        _messageStart = Stopwatch.GetTimestamp();
        _header = 0;
        _body = 0;
        _gotHeader = false;

        // A distinct queue id (macro i) per message, as an MTA sends it.
        Span<byte> id = _mail.AsSpan(_packets.MailQueueIdOffset, BenchPackets.QueueIdLength);
        for (int i = id.Length - 1; i >= 0; i--)
        {
            id[i] = (byte)"0123456789ABCDEF"[(int)(number & 0xf)];
            number >>= 4;
        }
    }

    /// <summary>Opens a fresh connection; retries (not an error) while the listen backlog is full.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Socket?> ConnectAsync()
    {
        int backoffMs = 0;
        while (true)
        {
            Socket socket = _run.CreateSocket();
            Volatile.Write(ref _socket, socket);
            try
            {
                SetAwaiting(Step.Connecting);
                await socket.ConnectAsync(_run.EndPoint).ConfigureAwait(false);
                ClearAwaiting();
                _run.Connected();
                _step = Step.Negotiate;
                _onConnection = 0;
                _inStart = 0;
                _inEnd = 0;
                return socket;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                ClearAwaiting();
                Volatile.Write(ref _socket, null);
                socket.Dispose();
                bool timedOut = _timedOut;
                _timedOut = false;
                if (ex is SocketException { SocketErrorCode: SocketError.WouldBlock or SocketError.TryAgain } && !timedOut)
                {
                    // A full listen backlog (unix sockets say EAGAIN): wait and try again, not counted as an error.
                    _run.ConnectRetried();
                }
                else
                {
                    _run.Error(timedOut
                        ? $"conn {_id}: timeout connecting to {_run.Settings.Socket}"
                        : $"conn {_id}: connect {_run.Settings.Socket}: {Describe(ex)}");
                    if (_run.Settings.Idle > 0)
                    {
                        return null;
                    }

                    _run.ReturnMessage();
                    if (!_run.TryBeginMessage(out long number))
                    {
                        return null;
                    }

                    BeginMessage(number);
                }

                backoffMs = Math.Min(backoffMs == 0 ? 1 : backoffMs * 2, 20);
                await Task.Delay(backoffMs).ConfigureAwait(false);
                _messageStart = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>
    /// Queues the frames of every step that awaits no reply, up to and including the first that does, and returns that
    /// step (<see cref="Step.Quit"/> when the connection is done, <see cref="Step.Idle"/> in idle mode before MAIL).
    /// </summary>
    private Step QueueUntilReply()
    {
        ProtocolFlags p = _protocol;
        BenchSettings settings = _run.Settings;
        while (true)
        {
            switch (_step)
            {
                case Step.Negotiate:
                    Queue(_packets.Negotiate);
                    return Step.Negotiate;
                case Step.Connect:
                    _step = Step.Helo;
                    if ((p & ProtocolFlags.NoConnect) == 0)
                    {
                        Queue(_packets.Connect);
                        if ((p & ProtocolFlags.NoReplyConnect) == 0)
                        {
                            return Step.Connect;
                        }
                    }

                    break;
                case Step.Helo:
                    _step = Step.Mail;
                    if ((p & ProtocolFlags.NoHelo) == 0)
                    {
                        Queue(_packets.Helo);
                        if ((p & ProtocolFlags.NoReplyHelo) == 0)
                        {
                            return Step.Helo;
                        }
                    }

                    break;
                case Step.Mail:
                    if (settings.Idle > 0)
                    {
                        return Step.Idle;
                    }

                    _step = Step.Rcpt;
                    if ((p & ProtocolFlags.NoMail) == 0)
                    {
                        Queue(_mail);
                        if ((p & ProtocolFlags.NoReplyMail) == 0)
                        {
                            return Step.Mail;
                        }
                    }

                    break;
                case Step.Rcpt:
                    _step = Step.Data;
                    if ((p & ProtocolFlags.NoRcpt) == 0)
                    {
                        Queue(_packets.Rcpt);

                        // With a reject expected, the verdict is awaited whatever the flags.
                        if ((p & ProtocolFlags.NoReplyRcpt) == 0 || settings.ExpectReject)
                        {
                            return Step.Rcpt;
                        }
                    }

                    break;
                case Step.Data:
                    _step = Step.Header;
                    if (_version >= 4 && (p & ProtocolFlags.NoData) == 0)
                    {
                        Queue(_packets.Data);
                        if ((p & ProtocolFlags.NoReplyData) == 0)
                        {
                            return Step.Data;
                        }
                    }

                    break;
                case Step.Header:
                    if (_header >= _packets.Headers.Length || (p & ProtocolFlags.NoHeaders) != 0)
                    {
                        _step = Step.EndOfHeaders;
                        break;
                    }

                    Queue(_packets.Headers[_header++]);
                    if ((p & ProtocolFlags.NoReplyHeader) == 0)
                    {
                        return Step.Header;
                    }

                    break;
                case Step.EndOfHeaders:
                    _step = Step.Body;
                    if ((p & ProtocolFlags.NoEndOfHeaders) == 0)
                    {
                        Queue(_packets.EndOfHeaders);
                        if ((p & ProtocolFlags.NoReplyEndOfHeaders) == 0)
                        {
                            return Step.EndOfHeaders;
                        }
                    }

                    break;
                case Step.Body:
                    if (_body >= _packets.Body.Length || (p & ProtocolFlags.NoBody) != 0)
                    {
                        _step = Step.EndOfMessage;
                        break;
                    }

                    Queue(_packets.Body[_body++]);
                    if ((p & ProtocolFlags.NoReplyBody) == 0)
                    {
                        return Step.Body;
                    }

                    break;
                case Step.EndOfMessage:
                    Queue(_packets.EndOfMessage);
                    return Step.EndOfMessage;
                case Step.MessageDone:
                    _onConnection++;
                    if (_onConnection < settings.MessagesPerConnection && _run.TryBeginMessage(out long number))
                    {
                        // The next transaction of the same SMTP session, as Postfix resets it.
                        Queue(_packets.Abort);
                        BeginMessage(number);
                        _step = Step.Mail;
                        break;
                    }

                    Queue(_packets.Quit);
                    _step = Step.Quit;
                    return Step.Quit;
                default:
                    throw new UnreachableException($"step {_step}");
            }
        }
    }

    /// <summary>Adds a frame to the next write: a lone frame is sent from its own array, a run is copied together.</summary>
    private void Queue(byte[] frame)
    {
        if (_single.IsEmpty && _out.WrittenCount == 0)
        {
            _single = frame;
            return;
        }

        if (!_single.IsEmpty)
        {
            _single.Span.CopyTo(_out.GetSpan(_single.Length));
            _out.Advance(_single.Length);
            _single = default;
        }

        frame.CopyTo(_out.GetSpan(frame.Length));
        _out.Advance(frame.Length);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendQueuedAsync(Socket socket)
    {
        ReadOnlyMemory<byte> data = _single.IsEmpty ? _out.WrittenMemory : _single;
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }

        _single = default;
        _out.Reset();
    }

    /// <summary>Reads replies until the one awaited for <paramref name="awaited"/> settles the step.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> AwaitReplyAsync(Socket socket, Step awaited)
    {
        SetAwaiting(awaited);
        while (true)
        {
            switch (TryReadFrame(out byte command, out int offset, out int length))
            {
                case ReadStatus.Frame:
                    Outcome outcome = OnReply(awaited, command, _in.AsSpan(offset, length));
                    if (outcome != Outcome.Wait)
                    {
                        ClearAwaiting();
                        return outcome;
                    }

                    break;
                case ReadStatus.Bad:
                    ClearAwaiting();
                    _run.Error($"conn {_id}: bad reply length {BinaryPrimitives.ReadUInt32BigEndian(_in.AsSpan(_inStart))}");
                    return Outcome.Failed;
                default:
                    int received = await socket.ReceiveAsync(_in.AsMemory(_inEnd), SocketFlags.None).ConfigureAwait(false);
                    if (received == 0)
                    {
                        ClearAwaiting();
                        _run.Error($"conn {_id}: connection closed by filter while waiting for {Name(awaited)} reply");
                        return Outcome.Failed;
                    }

                    _inEnd += received;
                    break;
            }
        }
    }

    /// <summary>Takes the next whole reply frame from the receive buffer, or makes room for more bytes.</summary>
    private ReadStatus TryReadFrame(out byte command, out int payloadOffset, out int payloadLength)
    {
        command = 0;
        payloadOffset = 0;
        payloadLength = 0;
        int available = _inEnd - _inStart;
        int needed = MilterFrameReader.LengthSize;
        if (available >= MilterFrameReader.LengthSize)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(_in.AsSpan(_inStart));
            if (length is 0 or > MaxReplyLength)
            {
                return ReadStatus.Bad;
            }

            needed = MilterFrameReader.LengthSize + (int)length;
            if (available >= needed)
            {
                command = _in[_inStart + MilterFrameReader.LengthSize];
                payloadOffset = _inStart + MilterFrameReader.HeaderSize;
                payloadLength = (int)length - 1;
                _inStart += needed;
                return ReadStatus.Frame;
            }
        }

        // The previous frame has been handled: its bytes may be overwritten.
        if (_inStart > 0)
        {
            _in.AsSpan(_inStart, available).CopyTo(_in);
            _inStart = 0;
            _inEnd = available;
        }

        if (needed > _in.Length)
        {
            Array.Resize(ref _in, Math.Max(needed, _in.Length * 2));
        }

        return ReadStatus.NeedMore;
    }

    /// <summary>Checks one reply against the awaited step, as milter-load does.</summary>
    private Outcome OnReply(Step awaited, byte command, ReadOnlySpan<byte> payload)
    {
        if (command == (byte)MilterResponse.Progress)
        {
            _run.ProgressSeen();
            return Outcome.Wait;
        }

        switch (awaited)
        {
            case Step.Negotiate:
                return OnNegotiated(command, payload);
            case Step.Rcpt when _run.Settings.ExpectReject:
                if (command == (byte)MilterResponse.Reject || (command == (byte)MilterResponse.ReplyCode && payload.Length > 0 && payload[0] == (byte)'5'))
                {
                    MessageFinished(rejected: true);
                    return Outcome.Proceed;
                }

                return Fail($"expected a reject at rcpt, got {Describe(command)}");
            case Step.Body:
                if (command == (byte)MilterResponse.Skip && (_protocol & ProtocolFlags.Skip) != 0)
                {
                    _body = _packets.Body.Length; // the milter has seen enough of the body
                    return Outcome.Proceed;
                }

                return command == (byte)MilterResponse.Continue ? Outcome.Proceed : Fail($"unexpected reply {Describe(command)} at body");
            case Step.EndOfMessage:
                return OnEndOfMessageReply(command, payload);
            default:
                return command == (byte)MilterResponse.Continue
                    ? Outcome.Proceed
                    : Fail($"unexpected reply {Describe(command)} at {Name(awaited)}");
        }
    }

    private Outcome OnNegotiated(byte command, ReadOnlySpan<byte> payload)
    {
        if (command != (byte)MilterCommand.OptionNegotiation || payload.Length < OptionNegotiation.PayloadSize)
        {
            return Fail($"bad negotiation reply {Describe(command)} of {payload.Length} bytes");
        }

        OptionNegotiation reply = OptionNegotiation.Parse(payload);
        _run.Negotiated(reply);
        _version = reply.Version;
        _protocol = reply.Protocol;
        BenchSettings settings = _run.Settings;
        if (reply.Version is < 2 or > 6)
        {
            return Fail($"unsupported protocol version {reply.Version}");
        }

        if ((reply.Protocol & ~settings.OfferProtocol) != 0 || (reply.Actions & ~settings.OfferActions) != 0)
        {
            return Fail($"filter wants flags not offered (actions 0x{(uint)reply.Actions:x} protocol 0x{(uint)reply.Protocol:x})");
        }

        if (reply.Version < 6)
        {
            // No-reply flags and skip exist only in version 6.
            _protocol &= ~(ProtocolFlags.AllNoReplies | ProtocolFlags.Skip);
        }

        _step = Step.Connect;
        return Outcome.Proceed;
    }

    private Outcome OnEndOfMessageReply(byte command, ReadOnlySpan<byte> payload)
    {
        switch ((MilterResponse)command)
        {
            case MilterResponse.AddHeader:
            case MilterResponse.InsertHeader:
            {
                // add: name\0value\0; insert: index:u32 name\0value\0
                if (command == (byte)MilterResponse.InsertHeader)
                {
                    if (payload.Length < 4)
                    {
                        return Fail("truncated insert-header reply at eom");
                    }

                    payload = payload[4..];
                }

                int nul = payload.IndexOf((byte)0);
                if (nul < 0)
                {
                    return Fail($"malformed {Describe(command)} reply at eom");
                }

                ReadOnlySpan<byte> name = payload[..nul];
                ReadOnlySpan<byte> value = payload[(nul + 1)..];
                int end = value.IndexOf((byte)0);
                value = end < 0 ? value : value[..end];
                if (_packets.ExpectedHeaderName.Length > 0 && System.Text.Ascii.EqualsIgnoreCase(name, _packets.ExpectedHeaderName))
                {
                    if (_run.Settings.ChecksBenchHeader)
                    {
                        value = value.TrimStart(" \t"u8);
                        if (!value.SequenceEqual(_packets.BenchHeaderValue))
                        {
                            return Fail($"{_run.Settings.ExpectHeader} is '{System.Text.Encoding.UTF8.GetString(value)}', expected '{System.Text.Encoding.ASCII.GetString(_packets.BenchHeaderValue)}'");
                        }
                    }

                    _gotHeader = true;
                }
                else
                {
                    _run.ModificationSeen();
                }

                return Outcome.Wait;
            }

            case MilterResponse.AddRecipient:
            case MilterResponse.DeleteRecipient:
            case MilterResponse.AddRecipientWithArgs:
            case MilterResponse.ReplaceBody:
            case MilterResponse.ChangeSender:
            case MilterResponse.ChangeHeader:
            case MilterResponse.Quarantine:
                _run.ModificationSeen();
                return Outcome.Wait;
            case MilterResponse.Accept:
            case MilterResponse.Continue:
                if (_packets.ExpectedHeaderName.Length > 0 && !_gotHeader)
                {
                    return Fail($"message finished without the {_run.Settings.ExpectHeader} header");
                }

                MessageFinished(rejected: false);
                return Outcome.Proceed;
            default:
                return Fail($"unexpected reply {Describe(command)} at eom");
        }
    }

    private void MessageFinished(bool rejected)
    {
        _run.MessageFinished(Stopwatch.GetElapsedTime(_messageStart), rejected, _gotHeader);
        _step = Step.MessageDone;
    }

    private Outcome Fail(string reason)
    {
        _run.Error($"conn {_id}: {reason}");
        return Outcome.Failed;
    }

    private void SocketFailed(Exception ex)
    {
        Step awaiting = _awaiting;
        bool waiting = Volatile.Read(ref _awaitingSince) != 0;
        ClearAwaiting();
        _run.Error(_timedOut
            ? $"conn {_id}: timeout waiting for {Name(awaiting)} reply"
            : waiting
                ? $"conn {_id}: {Describe(ex)} while waiting for {Name(awaiting)} reply"
                : $"conn {_id}: {Describe(ex)} while sending");
    }

    private void Close(Socket socket)
    {
        Volatile.Write(ref _socket, null);
        socket.Dispose();
        ClearAwaiting();
        _timedOut = false;
        _single = default;
        _out.Reset();
        _out.ShrinkTo(64 * 1024);
    }

    private void SetAwaiting(Step step)
    {
        _awaiting = step;
        Volatile.Write(ref _awaitingSince, Stopwatch.GetTimestamp());
    }

    private void ClearAwaiting() => Volatile.Write(ref _awaitingSince, 0);

    private static string Describe(Exception ex) => ex is SocketException s ? $"{s.SocketErrorCode} ({s.Message})" : ex.Message;

    private static string Describe(byte command) => command is >= 0x20 and < 0x7f ? $"'{(char)command}'" : $"0x{command:x2}";

    private static string Name(Step step) => step switch
    {
        Step.Connecting => "connect()",
        Step.Negotiate => "optneg",
        Step.Connect => "connect",
        Step.Helo => "helo",
        Step.Mail => "mail",
        Step.Rcpt => "rcpt",
        Step.Data => "data",
        Step.Header => "header",
        Step.EndOfHeaders => "eoh",
        Step.Body => "body",
        Step.EndOfMessage => "eom",
        _ => step.ToString().ToLowerInvariant(),
    };
}
