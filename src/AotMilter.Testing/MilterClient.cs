using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Testing;

/// <summary>
/// The MTA side of a milter connection, for tests: sends the commands Sendmail and Postfix send and reads the
/// milter's answers as typed values. It honours the negotiation as an MTA does: an event the milter declined
/// (NO* bit) cannot be sent, and for an event it does not answer (NR_* bit) the client does not wait. Progress
/// frames are counted and skipped while waiting. Every wait is bounded by <see cref="Timeout"/>, so a test cannot
/// hang on a milter that does not answer. One conversation at a time: not thread-safe.
/// </summary>
public sealed class MilterClient : IAsyncDisposable, IDisposable
{
    /// <summary>How long any one operation may wait, unless <see cref="Timeout"/> says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame payload accepted from the milter by default (Postfix accepts up to INT_MAX/2).</summary>
    public const int DefaultMaxPacketSize = 64 * 1024 * 1024;

    private static readonly string[] NoArguments = [];

    private readonly Stream _stream;
    private readonly ByteBufferWriter _output = new(1024);
    private readonly ByteBufferWriter _payload = new(256);
    private byte[] _input = new byte[8 * 1024];
    private int _start;
    private int _end;
    private bool _endOfStream;
    private bool _bodySkipped;
    private string? _earlyQuarantine;

    /// <summary>A client over a connected stream (a socket's, or an in-memory pipe). The client owns the stream.</summary>
    public MilterClient(Stream stream, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        Timeout = timeout ?? DefaultTimeout;
    }

    /// <summary>A client over a connected socket. The client owns the socket.</summary>
    public MilterClient(Socket socket, TimeSpan? timeout = null)
        : this(new NetworkStream(socket ?? throw new ArgumentNullException(nameof(socket)), ownsSocket: true), timeout)
    {
    }

    /// <summary>The longest any one operation (a command and its reply) may take; then it throws <see cref="TimeoutException"/>.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>The largest frame payload accepted from the milter.</summary>
    public int MaxPacketSize { get; set; } = DefaultMaxPacketSize;

    /// <summary>The negotiation result, once <see cref="NegotiateAsync"/> has run.</summary>
    public NegotiationResult? Negotiated { get; private set; }

    /// <summary>Progress frames received on this connection so far.</summary>
    public int ProgressCount { get; private set; }

    /// <summary>
    /// True to accept quarantine (<c>q</c>) before the answer to any event, as Postfix does; the reason is kept until
    /// <see cref="TakeEarlyQuarantine"/>. False (the default, and Sendmail's rule): quarantine only at end of message.
    /// </summary>
    public bool QuarantineAtAnyStage { get; set; }

    /// <summary>True to treat progress (<c>p</c>) anywhere but at end of message as a protocol error, as Sendmail does.</summary>
    public bool ProgressOnlyAtEndOfMessage { get; set; }

    /// <summary>Returns and forgets the reason of a quarantine sent before end of message (see <see cref="QuarantineAtAnyStage"/>).</summary>
    public string? TakeEarlyQuarantine()
    {
        string? reason = _earlyQuarantine;
        _earlyQuarantine = null;
        return reason;
    }

    /// <summary>Connects to a milter socket: <c>unix:/path</c>, <c>local:/path</c>, <c>/path</c>, <c>inet:PORT@HOST</c>,
    /// <c>inet6:PORT@HOST</c> (a wildcard host means loopback).</summary>
    /// <exception cref="FormatException">The socket specification is malformed.</exception>
    /// <exception cref="TimeoutException">The connection was not established within the timeout.</exception>
    public static async Task<MilterClient> ConnectAsync(string socketSpec, TimeSpan? timeout = null)
    {
        SocketSpec spec = SocketSpec.Parse(socketSpec);
        System.Net.EndPoint endPoint = spec.ToConnectEndPoint();
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream,
            spec.Kind == SocketKind.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        TimeSpan limit = timeout ?? DefaultTimeout;
        try
        {
            using var deadline = new CancellationTokenSource(limit);
            try
            {
                await socket.ConnectAsync(endPoint, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"could not connect to {spec} within {limit.TotalSeconds:0.###}s");
            }

            if (spec.Kind != SocketKind.Unix)
            {
                socket.NoDelay = true;
            }

            return new MilterClient(socket, limit);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Negotiation and macros

    /// <summary>
    /// Sends option negotiation (<c>O</c>) offering <paramref name="version"/>, <paramref name="actions"/> and
    /// <paramref name="protocol"/>, and reads the milter's answer. Postfix with <c>milter_protocol = 2</c> offers
    /// version 2, actions 0x1FF and protocol 0x7F; Sendmail 8.14+ and Postfix by default offer 6, 0x1FF, 0x1FFFFF.
    /// </summary>
    /// <exception cref="MilterProtocolException">The milter answered with something other than a negotiation reply,
    /// with a higher version than offered, or with actions that were not offered (both MTAs give up then).</exception>
    public async Task<NegotiationResult> NegotiateAsync(uint version = 6, ActionFlags actions = ActionFlags.AllVersion6,
        ProtocolFlags protocol = ProtocolFlags.AllVersion6)
    {
        if (Negotiated is not null)
        {
            throw new InvalidOperationException("option negotiation happens once per milter connection (also after QUIT_NC)");
        }

        var offered = new OptionNegotiation(version, actions, protocol);
        Span<byte> payload = stackalloc byte[OptionNegotiation.PayloadSize];
        BinaryPrimitives.WriteUInt32BigEndian(payload, version);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], (uint)actions);
        BinaryPrimitives.WriteUInt32BigEndian(payload[8..], (uint)protocol);
        MilterFrameWriter.Write(_output, (byte)MilterCommand.OptionNegotiation, payload);

        using CancellationTokenSource deadline = StartDeadline();
        await FlushAsync("sending option negotiation", deadline.Token).ConfigureAwait(false);
        RawFrame frame = await ReadRequiredFrameAsync('O', deadline.Token).ConfigureAwait(false);
        if (frame.Command != (byte)MilterResponse.OptionNegotiation)
        {
            throw Unexpected(frame, 'O');
        }

        NegotiationResult result = ParseNegotiation(offered, frame.Payload);
        if (result.Version > version || result.Version < OptionNegotiation.MinVersion)
        {
            throw new MilterProtocolException(MilterProtocolError.UnsupportedVersion,
                $"the milter answers with protocol version {result.Version}; the MTA offered {version}");
        }

        ActionFlags missing = result.Actions & ~actions;
        if (missing != ActionFlags.None)
        {
            throw new MilterProtocolException(MilterProtocolError.ActionsNotOffered,
                $"the milter asks for actions 0x{(uint)result.Actions:x} but 0x{(uint)actions:x} were offered (missing: {missing})");
        }

        Negotiated = result;
        return result;
    }

    /// <summary>
    /// Sends macros (<c>D</c>) for the command <paramref name="stage"/> names: 'C', 'H', 'M', 'R', 'T', 'N', 'E'
    /// (Postfix also sends 'L', 'B' and 'U', possibly with no pairs). Names are <c>j</c> or <c>{name}</c>. No reply.
    /// </summary>
    public Task MacroAsync(char stage, params (string Name, string Value)[] macros)
    {
        ArgumentNullException.ThrowIfNull(macros);
        if (stage > 0x7F)
        {
            throw new ArgumentOutOfRangeException(nameof(stage), stage, "a macro stage is an ASCII command letter");
        }

        _payload.Reset();
        _payload.GetSpan(1)[0] = (byte)stage;
        _payload.Advance(1);
        foreach ((string name, string value) in macros)
        {
            AppendString(name);
            AppendString(value);
        }

        MilterFrameWriter.Write(_output, (byte)MilterCommand.Macro, _payload.WrittenSpan);
        return SendWithoutReplyAsync("macros");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // SMTP events

    /// <summary>Sends connect (<c>C</c>). For <see cref="ConnectFamily.Unknown"/>, port and address are not sent.</summary>
    public Task<MilterReply> ConnectAsync(string host, ConnectFamily family, ushort port, string address)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(address);
        RequireEvent(ProtocolFlags.NoConnect, "connect");
        _bodySkipped = false;
        _payload.Reset();
        AppendString(host);
        _payload.GetSpan(1)[0] = (byte)family;
        _payload.Advance(1);
        if (family != ConnectFamily.Unknown)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_payload.GetSpan(2), port);
            _payload.Advance(2);
            AppendString(address);
        }

        MilterFrameWriter.Write(_output, (byte)MilterCommand.Connect, _payload.WrittenSpan);
        return SendEventAsync(MilterCommand.Connect, ProtocolFlags.NoReplyConnect);
    }

    /// <summary>Sends HELO/EHLO (<c>H</c>).</summary>
    public Task<MilterReply> HeloAsync(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        RequireEvent(ProtocolFlags.NoHelo, "HELO");
        MilterFrameWriter.WriteString(_output, (byte)MilterCommand.Helo, name);
        return SendEventAsync(MilterCommand.Helo, ProtocolFlags.NoReplyHelo);
    }

    /// <summary>Sends MAIL FROM (<c>M</c>): the address as written on the SMTP line (normally with angle brackets),
    /// then one string per ESMTP argument. Starts a new message for the client's own bookkeeping.</summary>
    public Task<MilterReply> MailFromAsync(string sender, params string[] esmtpArguments)
    {
        ArgumentNullException.ThrowIfNull(sender);
        RequireEvent(ProtocolFlags.NoMail, "MAIL FROM");
        _bodySkipped = false;
        WriteArgv(MilterCommand.Mail, sender, esmtpArguments ?? NoArguments);
        return SendEventAsync(MilterCommand.Mail, ProtocolFlags.NoReplyMail);
    }

    /// <summary>Sends RCPT TO (<c>R</c>): the address, then one string per ESMTP argument.</summary>
    public Task<MilterReply> RcptToAsync(string recipient, params string[] esmtpArguments)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        RequireEvent(ProtocolFlags.NoRcpt, "RCPT TO");
        WriteArgv(MilterCommand.Rcpt, recipient, esmtpArguments ?? NoArguments);
        return SendEventAsync(MilterCommand.Rcpt, ProtocolFlags.NoReplyRcpt);
    }

    /// <summary>Sends DATA (<c>T</c>; protocol version 4 and later).</summary>
    public Task<MilterReply> DataAsync()
    {
        RequireEvent(ProtocolFlags.NoData, "DATA", minVersion: 4);
        MilterFrameWriter.WriteEmpty(_output, (byte)MilterCommand.Data);
        return SendEventAsync(MilterCommand.Data, ProtocolFlags.NoReplyData);
    }

    /// <summary>Sends one header field (<c>L</c>). The value is sent as given: an MTA strips one leading space unless
    /// HDR_LEADSPC was negotiated, and folds with bare LF.</summary>
    public Task<MilterReply> HeaderAsync(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        RequireEvent(ProtocolFlags.NoHeaders, "header");
        MilterFrameWriter.WriteStrings(_output, (byte)MilterCommand.Header, name, value);
        return SendEventAsync(MilterCommand.Header, ProtocolFlags.NoReplyHeader);
    }

    /// <summary>Sends one header field (<c>L</c>) given as bytes, sent exactly (8-bit and all).</summary>
    public Task<MilterReply> HeaderAsync(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value)
    {
        RequireEvent(ProtocolFlags.NoHeaders, "header");
        _payload.Reset();
        AppendBytes(name.Span);
        AppendBytes(value.Span);
        MilterFrameWriter.Write(_output, (byte)MilterCommand.Header, _payload.WrittenSpan);
        return SendEventAsync(MilterCommand.Header, ProtocolFlags.NoReplyHeader);
    }

    /// <summary>Sends end of headers (<c>N</c>).</summary>
    public Task<MilterReply> EndOfHeadersAsync()
    {
        RequireEvent(ProtocolFlags.NoEndOfHeaders, "end-of-headers");
        MilterFrameWriter.WriteEmpty(_output, (byte)MilterCommand.EndOfHeaders);
        return SendEventAsync(MilterCommand.EndOfHeaders, ProtocolFlags.NoReplyEndOfHeaders);
    }

    /// <summary>
    /// Sends body content (<c>B</c>) in chunks of at most 65,535 bytes, as both MTAs do, waiting for the answer to each
    /// (unless NR_BODY). Stops at the first answer other than continue and returns it; otherwise returns the last
    /// answer. After a skip answer, later body calls for the same message send nothing and return skip, as an MTA
    /// does. An empty body is sent as one empty chunk.
    /// </summary>
    public async Task<MilterReply> BodyAsync(ReadOnlyMemory<byte> body)
    {
        RequireEvent(ProtocolFlags.NoBody, "body");
        if (_bodySkipped)
        {
            return MilterReply.Skip;
        }

        MilterReply last;
        do
        {
            ReadOnlyMemory<byte> chunk = body[..Math.Min(body.Length, MilterFrameWriter.MaxChunkSize)];
            body = body[chunk.Length..];
            MilterFrameWriter.Write(_output, (byte)MilterCommand.Body, chunk.Span);
            last = await SendEventAsync(MilterCommand.Body, ProtocolFlags.NoReplyBody).ConfigureAwait(false);
            if (last.Kind == MilterReplyKind.Skip)
            {
                _bodySkipped = true;
                return last;
            }

            if (last.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
            {
                return last;
            }
        }
        while (!body.IsEmpty);

        return last;
    }

    /// <summary>Sends body text, encoded as UTF-8 (use CRLF line ends, as MTAs do).</summary>
    public Task<MilterReply> BodyAsync(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return BodyAsync(Encoding.UTF8.GetBytes(body));
    }

    /// <summary>
    /// Sends end of message (<c>E</c>) and collects everything up to the final answer: modifications (each checked
    /// against the negotiated actions), progress frames, then the verdict. <paramref name="trailingBody"/> is sent
    /// inside the <c>E</c> frame, which libmilter accepts as one more body chunk (neither MTA does this).
    /// </summary>
    public async Task<EndOfMessageResult> EndOfMessageAsync(ReadOnlyMemory<byte> trailingBody = default)
    {
        NegotiationResult negotiated = RequireNegotiated("end of message");
        _bodySkipped = false;
        MilterFrameWriter.Write(_output, (byte)MilterCommand.EndOfMessage, trailingBody.Span);
        using CancellationTokenSource deadline = StartDeadline();
        await FlushAsync("sending end of message", deadline.Token).ConfigureAwait(false);

        var modifications = new List<Modification>();
        int progress = 0;
        while (true)
        {
            RawFrame frame = await ReadRequiredFrameAsync('E', deadline.Token).ConfigureAwait(false);
            if (frame.Command == (byte)MilterResponse.Progress)
            {
                // As both MTAs do: progress restarts the wait for the answer.
                progress++;
                ProgressCount++;
                deadline.CancelAfter(Timeout);
                continue;
            }

            if (TryParseReply(frame, out MilterReply? reply))
            {
                if (reply.Kind == MilterReplyKind.Skip)
                {
                    throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                        "the milter answered end of message with skip ('s'); it needs a final verdict");
                }

                return new EndOfMessageResult(modifications, reply, progress);
            }

            modifications.Add(ParseModification(frame, negotiated.Actions));
        }
    }

    /// <summary>Sends an unknown SMTP command (<c>U</c>; protocol version 3 and later).</summary>
    public Task<MilterReply> UnknownAsync(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        RequireEvent(ProtocolFlags.NoUnknown, "unknown-command", minVersion: 3);
        MilterFrameWriter.WriteString(_output, (byte)MilterCommand.Unknown, commandLine);
        return SendEventAsync(MilterCommand.Unknown, ProtocolFlags.NoReplyUnknown);
    }

    /// <summary>Sends abort (<c>A</c>): the MTA abandons the current message. No reply.</summary>
    public Task AbortAsync()
    {
        RequireNegotiated("abort");
        _bodySkipped = false;
        MilterFrameWriter.WriteEmpty(_output, (byte)MilterCommand.Abort);
        return SendWithoutReplyAsync("abort");
    }

    /// <summary>Sends quit (<c>Q</c>): the milter closes its session. No reply.</summary>
    public Task QuitAsync()
    {
        MilterFrameWriter.WriteEmpty(_output, (byte)MilterCommand.Quit);
        return SendWithoutReplyAsync("quit");
    }

    /// <summary>Sends quit-new-connection (<c>K</c>): the milter ends this SMTP connection's session and the next
    /// command is a new connect on the same milter connection, without negotiation. No reply.</summary>
    public Task QuitNewConnectionAsync()
    {
        RequireNegotiated("quit-new-connection");
        _bodySkipped = false;
        MilterFrameWriter.WriteEmpty(_output, (byte)MilterCommand.QuitNewConnection);
        return SendWithoutReplyAsync("quit-new-connection");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Raw access, for malformed input

    /// <summary>Sends one frame with any command byte and payload, bypassing every check.</summary>
    public Task SendFrameAsync(byte command, ReadOnlyMemory<byte> payload = default)
    {
        MilterFrameWriter.Write(_output, command, payload.Span);
        return SendWithoutReplyAsync($"frame '{(char)command}'");
    }

    /// <summary>Sends raw bytes (a partial frame, a bogus length field …).</summary>
    public Task SendBytesAsync(ReadOnlyMemory<byte> bytes)
    {
        _output.Write(bytes.Span);
        return SendWithoutReplyAsync("raw bytes");
    }

    /// <summary>Reads the next frame, whatever it is; null when the milter closed the connection.</summary>
    /// <exception cref="TimeoutException">No frame arrived within the timeout.</exception>
    public async Task<RawFrame?> ReadFrameAsync()
    {
        using CancellationTokenSource deadline = StartDeadline();
        return await ReadFrameCoreAsync("a frame", deadline.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the milter closes the connection. True when it did within the timeout; false when it sent a frame
    /// instead (the frame is consumed) or stayed open.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            return await ReadFrameCoreAsync("the connection to close", deadline.Token).ConfigureAwait(false) is null;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _stream.Dispose();

    // ---------------------------------------------------------------------------------------------------------------

    private CancellationTokenSource StartDeadline() => new(Timeout);

    private NegotiationResult RequireNegotiated(string what)
        => Negotiated ?? throw new InvalidOperationException($"cannot send {what} before option negotiation (call NegotiateAsync first)");

    private void RequireEvent(ProtocolFlags skipBit, string what, uint minVersion = 2)
    {
        NegotiationResult negotiated = RequireNegotiated(what);
        if ((negotiated.DeclinedEvents & skipBit) != 0)
        {
            throw new InvalidOperationException(
                $"the milter declined {what} events in negotiation ({skipBit}, protocol 0x{(uint)negotiated.Protocol:x}); an MTA does not send them");
        }

        if (negotiated.Version < minVersion)
        {
            throw new InvalidOperationException(
                $"{what} events do not exist in milter protocol version {negotiated.Version} (they need version {minVersion})");
        }
    }

    private async Task<MilterReply> SendEventAsync(MilterCommand command, ProtocolFlags noReplyBit)
    {
        using CancellationTokenSource deadline = StartDeadline();
        char letter = (char)command;
        await FlushAsync($"sending '{letter}'", deadline.Token).ConfigureAwait(false);
        if ((Negotiated!.NoReplyEvents & noReplyBit) != 0)
        {
            return MilterReply.NoReply;
        }

        while (true)
        {
            RawFrame frame = await ReadRequiredFrameAsync(letter, deadline.Token).ConfigureAwait(false);
            if (frame.Command == (byte)MilterResponse.Progress)
            {
                if (ProgressOnlyAtEndOfMessage)
                {
                    throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                        $"the milter sent progress ('p') while answering '{letter}'; this MTA accepts it only at end of message");
                }

                ProgressCount++;
                deadline.CancelAfter(Timeout);
                continue;
            }

            if (frame.Command == (byte)MilterResponse.Quarantine && QuarantineAtAnyStage)
            {
                ReadOnlySpan<byte> payload = frame.Payload;
                _earlyQuarantine ??= Encoding.UTF8.GetString(NulString.Read(ref payload, "quarantine reason"));
                continue;
            }

            if (TryParseReply(frame, out MilterReply? reply))
            {
                return reply;
            }

            throw Unexpected(frame, letter);
        }
    }

    private async Task SendWithoutReplyAsync(string what)
    {
        using CancellationTokenSource deadline = StartDeadline();
        await FlushAsync(what, deadline.Token).ConfigureAwait(false);
    }

    private async Task FlushAsync(string what, CancellationToken deadline)
    {
        try
        {
            await _stream.WriteAsync(_output.WrittenMemory, deadline).ConfigureAwait(false);
            await _stream.FlushAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"{what}: the milter did not take the data within {Timeout.TotalSeconds:0.###}s");
        }
        finally
        {
            _output.Reset();
        }
    }

    private async Task<RawFrame> ReadRequiredFrameAsync(char replyTo, CancellationToken deadline)
        => await ReadFrameCoreAsync($"reply to '{replyTo}'", deadline).ConfigureAwait(false)
            ?? throw new EndOfStreamException($"the milter closed the connection instead of replying to '{replyTo}'");

    private async Task<RawFrame?> ReadFrameCoreAsync(string waitingFor, CancellationToken deadline)
    {
        while (true)
        {
            if (TryTakeFrame(out RawFrame? frame, out int required))
            {
                return frame;
            }

            if (_endOfStream)
            {
                if (_end > _start)
                {
                    throw new EndOfStreamException(
                        $"the milter closed the connection in the middle of a frame ({_end - _start} of {required} bytes)");
                }

                return null;
            }

            MakeRoom(required);
            int received;
            try
            {
                received = await _stream.ReadAsync(_input.AsMemory(_end), deadline).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"no {waitingFor} from the milter within {Timeout.TotalSeconds:0.###}s");
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                // A peer that closes with unread input resets the connection: for the MTA that is a close like any other.
                received = 0;
            }

            if (received == 0)
            {
                _endOfStream = true;
            }
            else
            {
                _end += received;
            }
        }
    }

    private bool TryTakeFrame(out RawFrame? frame, out int required)
    {
        ReadOnlySpan<byte> pending = _input.AsSpan(_start, _end - _start);
        if (!MilterFrameReader.TryReadFrame(pending, MaxPacketSize, out MilterFrame f, out int length, out required))
        {
            frame = null;
            return false;
        }

        frame = new RawFrame(f.Command, f.Payload.ToArray());
        _start += length;
        if (_start == _end)
        {
            _start = _end = 0;
        }

        return true;
    }

    private void MakeRoom(int required)
    {
        int pending = _end - _start;
        int wanted = Math.Max(required, pending + 1);
        if (wanted > _input.Length)
        {
            byte[] bigger = new byte[Math.Max(wanted, _input.Length * 2)];
            _input.AsSpan(_start, pending).CopyTo(bigger);
            _input = bigger;
        }
        else if (_start > 0)
        {
            _input.AsSpan(_start, pending).CopyTo(_input);
        }
        else
        {
            return;
        }

        _start = 0;
        _end = pending;
    }

    private void AppendBytes(ReadOnlySpan<byte> bytes)
    {
        Span<byte> span = _payload.GetSpan(bytes.Length + 1);
        bytes.CopyTo(span);
        span[bytes.Length] = 0;
        _payload.Advance(bytes.Length + 1);
    }

    private void AppendString(string s)
    {
        int length = Encoding.UTF8.GetByteCount(s);
        Span<byte> span = _payload.GetSpan(length + 1);
        Encoding.UTF8.GetBytes(s, span);
        span[length] = 0;
        _payload.Advance(length + 1);
    }

    private void WriteArgv(MilterCommand command, string first, string[] rest)
    {
        _payload.Reset();
        AppendString(first);
        foreach (string argument in rest)
        {
            AppendString(argument);
        }

        MilterFrameWriter.Write(_output, (byte)command, _payload.WrittenSpan);
    }

    private bool TryParseReply(RawFrame frame, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MilterReply? reply)
    {
        reply = (MilterResponse)frame.Command switch
        {
            MilterResponse.Continue => MilterReply.Continue,
            MilterResponse.Accept => MilterReply.Accept,
            MilterResponse.Reject => MilterReply.Reject,
            MilterResponse.TempFail => MilterReply.TempFail,
            MilterResponse.Discard => MilterReply.Discard,
            MilterResponse.Shutdown => MilterReply.Shutdown,
            MilterResponse.Skip => MilterReply.Skip,
            MilterResponse.ReplyCode => ParseReplyCode(frame.Payload),
            _ => null,
        };
        if (reply is null)
        {
            return false;
        }

        if (reply.Kind is not MilterReplyKind.ReplyCode && frame.Payload.Length != 0)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                $"reply '{frame.Letter}' carries {frame.Payload.Length} payload bytes; it has none");
        }

        if (reply.Kind == MilterReplyKind.Skip && (Negotiated!.EffectiveProtocol & ProtocolFlags.Skip) == 0)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                "the milter answered skip ('s') although SKIP was not negotiated");
        }

        return true;
    }

    private static MilterReply ParseReplyCode(byte[] payload)
    {
        ReadOnlySpan<byte> rest = payload;
        string text = Encoding.UTF8.GetString(NulString.Read(ref rest, "reply code text"));
        ExpectEnd(rest, 'y');
        try
        {
            return MilterReply.WithCode(text);
        }
        catch (FormatException ex)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand, ex.Message);
        }
    }

    private static NegotiationResult ParseNegotiation(OptionNegotiation offered, byte[] payload)
    {
        OptionNegotiation reply = OptionNegotiation.Parse(payload);
        var lists = new Dictionary<MacroStage, string>();
        var reader = new SymbolListReader(payload.AsSpan(OptionNegotiation.PayloadSize));
        while (reader.MoveNext())
        {
            lists[reader.Stage] = Encoding.UTF8.GetString(reader.Names);
        }

        return new NegotiationResult(offered, reply.Version, reply.Actions, reply.Protocol, lists);
    }

    private static Modification ParseModification(RawFrame frame, ActionFlags negotiated)
    {
        ReadOnlySpan<byte> p = frame.Payload;
        Modification modification = (MilterResponse)frame.Command switch
        {
            MilterResponse.AddHeader => new Modification.AddHeader(Str(ref p, "header name"), Str(ref p, "header value")),
            MilterResponse.InsertHeader => new Modification.InsertHeader(Index(ref p, frame), Str(ref p, "header name"), Str(ref p, "header value")),
            MilterResponse.ChangeHeader => new Modification.ChangeHeader(Index(ref p, frame), Str(ref p, "header name"), Str(ref p, "header value")),
            MilterResponse.AddRecipient => new Modification.AddRecipient(Str(ref p, "recipient")),
            MilterResponse.AddRecipientWithArgs => new Modification.AddRecipient(Str(ref p, "recipient"), p.IsEmpty ? "" : Str(ref p, "ESMTP arguments")),
            MilterResponse.DeleteRecipient => new Modification.DeleteRecipient(Str(ref p, "recipient")),
            MilterResponse.ChangeSender => new Modification.ChangeSender(Str(ref p, "sender"), p.IsEmpty ? null : Str(ref p, "ESMTP arguments")),
            MilterResponse.Quarantine => new Modification.Quarantine(Str(ref p, "quarantine reason")),
            MilterResponse.ReplaceBody => new Modification.ReplaceBody(TakeAll(ref p)),
            _ => throw Unexpected(frame, 'E'),
        };
        ActionFlags needed = modification switch
        {
            Modification.AddHeader or Modification.InsertHeader => ActionFlags.AddHeaders,
            Modification.ChangeHeader => ActionFlags.ChangeHeaders,
            Modification.AddRecipient { Arguments: null } => ActionFlags.AddRecipient,
            Modification.AddRecipient => ActionFlags.AddRecipientWithArgs,
            Modification.DeleteRecipient => ActionFlags.DeleteRecipient,
            Modification.ChangeSender => ActionFlags.ChangeSender,
            Modification.Quarantine => ActionFlags.Quarantine,
            _ => ActionFlags.ChangeBody,
        };
        ExpectEnd(p, frame.Letter);
        if ((negotiated & needed) == 0)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                $"the milter sent '{frame.Letter}' ({modification}) without negotiating the {needed} action");
        }

        return modification;

        static string Str(ref ReadOnlySpan<byte> payload, string what) => Encoding.UTF8.GetString(NulString.Read(ref payload, what));

        static byte[] TakeAll(ref ReadOnlySpan<byte> payload)
        {
            byte[] all = payload.ToArray();
            payload = default;
            return all;
        }

        static uint Index(ref ReadOnlySpan<byte> payload, RawFrame frame)
        {
            if (payload.Length < 4)
            {
                throw new MilterProtocolException(MilterProtocolError.TruncatedPayload, $"'{frame.Letter}' has no header index");
            }

            uint index = BinaryPrimitives.ReadUInt32BigEndian(payload);
            payload = payload[4..];
            return index;
        }
    }

    private static void ExpectEnd(ReadOnlySpan<byte> rest, char letter)
    {
        if (!rest.IsEmpty)
        {
            throw new MilterProtocolException(MilterProtocolError.UnexpectedCommand,
                $"'{letter}' carries {rest.Length} unexpected trailing bytes");
        }
    }

    private static MilterProtocolException Unexpected(RawFrame frame, char replyTo)
        => new(MilterProtocolError.UnexpectedCommand,
            string.Create(CultureInfo.InvariantCulture, $"unexpected frame {frame} from the milter while waiting for the reply to '{replyTo}'"));
}
