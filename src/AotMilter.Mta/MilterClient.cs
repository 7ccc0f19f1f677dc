using System.Net.Sockets;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>
/// The MTA side of a milter connection, for tests: sends the commands Sendmail and Postfix send and reads the
/// milter's answers as typed values. It honours the negotiation as an MTA does: an event the milter declined
/// (NO* bit) cannot be sent, and for an event it does not answer (NR_* bit) the client does not wait. Progress
/// frames are counted and skipped while waiting. Every wait is bounded by <see cref="Timeout"/>, so a test cannot
/// hang on a milter that does not answer. One conversation at a time: not thread-safe.
/// </summary>
public sealed partial class MilterClient : IAsyncDisposable, IDisposable
{
    /// <summary>How long any one operation may wait, unless <see cref="Timeout"/> says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame payload accepted from the milter by default (Postfix accepts up to INT_MAX/2).</summary>
    public const int DefaultMaxPacketSize = 64 * 1024 * 1024;

    private static readonly string[] NoArguments = [];

    private readonly Stream _stream;
    private readonly ByteBufferWriter _output = new(1024);
    private readonly ReceiveBuffer _input = new(8 * 1024);
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
        MilterCommandWriter.WriteNegotiate(_output, offered);

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

        MilterCommandWriter.WriteMacros(_output, (byte)stage, macros);
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
        MilterCommandWriter.WriteConnect(_output, host, family, port, address);
        return SendEventAsync(MilterCommand.Connect, ProtocolFlags.NoReplyConnect);
    }

    /// <summary>Sends HELO/EHLO (<c>H</c>).</summary>
    public Task<MilterReply> HeloAsync(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        RequireEvent(ProtocolFlags.NoHelo, "HELO");
        MilterCommandWriter.WriteHelo(_output, name);
        return SendEventAsync(MilterCommand.Helo, ProtocolFlags.NoReplyHelo);
    }

    /// <summary>Sends MAIL FROM (<c>M</c>): the address as written on the SMTP line (normally with angle brackets),
    /// then one string per ESMTP argument. Starts a new message for the client's own bookkeeping.</summary>
    public Task<MilterReply> MailFromAsync(string sender, params string[] esmtpArguments)
    {
        ArgumentNullException.ThrowIfNull(sender);
        RequireEvent(ProtocolFlags.NoMail, "MAIL FROM");
        _bodySkipped = false;
        MilterCommandWriter.WriteMail(_output, sender, esmtpArguments ?? NoArguments);
        return SendEventAsync(MilterCommand.Mail, ProtocolFlags.NoReplyMail);
    }

    /// <summary>Sends RCPT TO (<c>R</c>): the address, then one string per ESMTP argument.</summary>
    public Task<MilterReply> RcptToAsync(string recipient, params string[] esmtpArguments)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        RequireEvent(ProtocolFlags.NoRcpt, "RCPT TO");
        MilterCommandWriter.WriteRcpt(_output, recipient, esmtpArguments ?? NoArguments);
        return SendEventAsync(MilterCommand.Rcpt, ProtocolFlags.NoReplyRcpt);
    }

    /// <summary>Sends DATA (<c>T</c>; protocol version 4 and later).</summary>
    public Task<MilterReply> DataAsync()
    {
        RequireEvent(ProtocolFlags.NoData, "DATA", minVersion: 4);
        MilterCommandWriter.WriteData(_output);
        return SendEventAsync(MilterCommand.Data, ProtocolFlags.NoReplyData);
    }

    /// <summary>Sends one header field (<c>L</c>). The value is sent as given: an MTA strips one leading space unless
    /// HDR_LEADSPC was negotiated, and folds with bare LF.</summary>
    public Task<MilterReply> HeaderAsync(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        RequireEvent(ProtocolFlags.NoHeaders, "header");
        MilterCommandWriter.WriteHeader(_output, name, value);
        return SendEventAsync(MilterCommand.Header, ProtocolFlags.NoReplyHeader);
    }

    /// <summary>Sends one header field (<c>L</c>) given as bytes, sent exactly (8-bit and all).</summary>
    public Task<MilterReply> HeaderAsync(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value)
    {
        RequireEvent(ProtocolFlags.NoHeaders, "header");
        MilterCommandWriter.WriteHeader(_output, name.Span, value.Span);
        return SendEventAsync(MilterCommand.Header, ProtocolFlags.NoReplyHeader);
    }

    /// <summary>Sends end of headers (<c>N</c>).</summary>
    public Task<MilterReply> EndOfHeadersAsync()
    {
        RequireEvent(ProtocolFlags.NoEndOfHeaders, "end-of-headers");
        MilterCommandWriter.WriteEndOfHeaders(_output);
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
            MilterCommandWriter.WriteBody(_output, chunk.Span);
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
        MilterCommandWriter.WriteEndOfMessage(_output, trailingBody.Span);
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
        MilterCommandWriter.WriteUnknown(_output, commandLine);
        return SendEventAsync(MilterCommand.Unknown, ProtocolFlags.NoReplyUnknown);
    }

    /// <summary>Sends abort (<c>A</c>): the MTA abandons the current message. No reply.</summary>
    public Task AbortAsync()
    {
        RequireNegotiated("abort");
        _bodySkipped = false;
        MilterCommandWriter.WriteAbort(_output);
        return SendWithoutReplyAsync("abort");
    }

    /// <summary>Sends quit (<c>Q</c>): the milter closes its session. No reply.</summary>
    public Task QuitAsync()
    {
        MilterCommandWriter.WriteQuit(_output);
        return SendWithoutReplyAsync("quit");
    }

    /// <summary>Sends quit-new-connection (<c>K</c>): the milter ends this SMTP connection's session and the next
    /// command is a new connect on the same milter connection, without negotiation. No reply.</summary>
    public Task QuitNewConnectionAsync()
    {
        RequireNegotiated("quit-new-connection");
        _bodySkipped = false;
        MilterCommandWriter.WriteQuitNewConnection(_output);
        return SendWithoutReplyAsync("quit-new-connection");
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _stream.Dispose();
}
