using System.Buffers;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// The server side of one milter connection as a state machine: frames in, reply frames out (into
/// <see cref="Output"/>), filters called in between. No I/O happens here except progress frames, which the
/// connection sends through <see cref="IProgressSender"/> at once. Everything is reused from message to message.
/// </summary>
public sealed class MilterSession
{
    private readonly FilterChain _chain;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private readonly MessageEditor _editor = new();
    private FilterDispatcher[] _dispatchers = [];
    private ProtocolFlags _protocol;
    private bool _negotiated;
    private bool _sessionOpen;
    private bool _inMessage;
    private bool _messageDecided;
    private Verdict? _pendingFailure;

    public MilterSession(FilterChain chain, MilterServerOptions options, ILogger serverLog, ILogger filterLog, long connectionId)
    {
        _chain = chain;
        _options = options;
        _log = serverLog;
        Context = new MilterContext(filterLog) { ConnectionId = connectionId };
    }

    /// <summary>Reply frames not yet sent.</summary>
    public ByteBufferWriter Output { get; } = new(512);

    public MilterContext Context { get; }

    /// <summary>True once the MTA said QUIT: the connection should close.</summary>
    public bool IsQuit { get; private set; }

    /// <summary>Messages started on this connection.</summary>
    public int Messages { get; private set; }

    /// <summary>The outcome of the latest message (or of the connection, when it was decided at connect or HELO).</summary>
    public VerdictKind LastVerdict { get; private set; }

    /// <summary>The client address reported at connect, for the log.</summary>
    public string? Client { get; private set; }

    /// <summary>The queue id (macro i) of the latest message, for the log.</summary>
    public string? QueueId { get; private set; }

    /// <summary>Where progress frames go; set by the connection.</summary>
    public IProgressSender? Progress { get; set; }

    /// <summary>Handles one frame from the MTA.</summary>
    /// <exception cref="MilterProtocolException">The frame is malformed or out of place.</exception>
    public void Process(MilterFrame frame)
    {
        switch ((MilterCommand)frame.Command)
        {
            case MilterCommand.OptionNegotiation:
                Negotiate(frame.Payload);
                break;
            case MilterCommand.Macro:
                Context.Macros.Store(MacroReader.Parse(frame.Payload));
                break;
            case MilterCommand.Connect:
                OnConnect(frame.Payload);
                break;
            case MilterCommand.Helo:
            {
                RequireNegotiated(frame.Command);
                Context.Macros.ClearAfter(MacroStage.Helo);
                ReadOnlySpan<byte> payload = frame.Payload;
                var data = new EventData { Bytes = NulString.Read(ref payload, "HELO name") };
                Reply(MilterEvent.Helo, RunChain(MilterEvent.Helo, data), ProtocolFlags.NoReplyHelo);
                break;
            }

            case MilterCommand.Mail:
                OnMail(frame.Payload);
                break;
            case MilterCommand.Rcpt:
            {
                RequireNegotiated(frame.Command);
                Context.Macros.ClearAfter(MacroStage.RcptTo);
                var data = new EventData { Envelope = EnvelopeAddress.Parse(frame.Payload) };
                Reply(MilterEvent.RcptTo, RunChain(MilterEvent.RcptTo, data), ProtocolFlags.NoReplyRcpt);
                break;
            }

            case MilterCommand.Data:
                RequireNegotiated(frame.Command);
                Reply(MilterEvent.Data, RunChain(MilterEvent.Data, default), ProtocolFlags.NoReplyData);
                break;
            case MilterCommand.Header:
            {
                RequireNegotiated(frame.Command);
                HeaderCommand header = HeaderCommand.Parse(frame.Payload);
                var data = new EventData { Header = new HeaderField(header.Name, header.Value) };
                Reply(MilterEvent.Header, RunChain(MilterEvent.Header, data), ProtocolFlags.NoReplyHeader);
                break;
            }

            case MilterCommand.EndOfHeaders:
                RequireNegotiated(frame.Command);
                Reply(MilterEvent.EndOfHeaders, RunChain(MilterEvent.EndOfHeaders, default), ProtocolFlags.NoReplyEndOfHeaders);
                break;
            case MilterCommand.Body:
                RequireNegotiated(frame.Command);
                Reply(MilterEvent.Body, RunChain(MilterEvent.Body, new EventData { Bytes = frame.Payload }), ProtocolFlags.NoReplyBody);
                break;
            case MilterCommand.EndOfMessage:
                OnEndOfMessage(frame.Payload);
                break;
            case MilterCommand.Abort:
                RequireNegotiated(frame.Command);
                AbortMessage();
                break;
            case MilterCommand.Unknown:
            {
                RequireNegotiated(frame.Command);
                ReadOnlySpan<byte> payload = frame.Payload;
                var data = new EventData { Bytes = NulString.ReadLenient(ref payload) };
                Reply(MilterEvent.Unknown, RunChain(MilterEvent.Unknown, data), ProtocolFlags.NoReplyUnknown);
                break;
            }

            case MilterCommand.Quit:
                CloseSession();
                IsQuit = true;
                break;
            case MilterCommand.QuitNewConnection:
                // The MTA keeps this milter connection for its next SMTP connection; no new negotiation follows.
                CloseSession();
                OpenSession();
                break;
            default:
                MilterProtocolException.Throw(MilterProtocolError.UnknownCommand,
                    $"unknown command 0x{frame.Command:x2}{(frame.Command is >= 0x20 and < 0x7f ? $" ('{(char)frame.Command}')" : "")}");
                break;
        }
    }

    /// <summary>Ends the SMTP connection's filters (close callback), if they are still open: EOF, errors, shutdown.</summary>
    public void CloseSession()
    {
        if (!_sessionOpen)
        {
            return;
        }

        if (_inMessage && !_messageDecided)
        {
            AbortMessage();
        }

        _sessionOpen = false;
        foreach (FilterDispatcher d in _dispatchers)
        {
            try
            {
                d.Close(Context);
            }
            catch (Exception ex)
            {
                Log.FilterFailed(_log, FilterName(d), MilterEvent.Close, Context.ConnectionId, ex);
            }
        }
    }

    private void Negotiate(ReadOnlySpan<byte> payload)
    {
        OptionNegotiation offered = OptionNegotiation.Parse(payload);
        ProtocolFlags wanted = _chain.Protocol;
        if (!_options.UseNoReplyFlags)
        {
            wanted &= ~ProtocolFlags.AllNoReplies;
        }

        OptionNegotiation reply = Negotiator.Negotiate(offered, wanted, _chain.Actions);
        _protocol = reply.Protocol;
        Context.ProtocolVersion = reply.Version;
        Context.NegotiatedActions = reply.Actions;
        Context.NegotiatedProtocol = reply.Protocol;
        _editor.Configure(reply.Actions, (reply.Protocol & ProtocolFlags.HeaderLeadingSpace) != 0, Progress);
        MilterFrameWriter.WriteNegotiation(Output, reply, default);
        Log.Negotiated(_log, Context.ConnectionId, offered.Version, (uint)offered.Actions, (uint)offered.Protocol, reply.Version, (uint)reply.Actions, (uint)reply.Protocol);
        if (_sessionOpen)
        {
            CloseSession();
        }

        _negotiated = true;
        OpenSession();
    }

    private void OpenSession()
    {
        _dispatchers = _chain.CreateDispatchers();
        Context.Macros.Clear();
        Context.TakeReply();
        _sessionOpen = true;
        _inMessage = false;
        _messageDecided = false;
        _pendingFailure = null;
    }

    private void OnConnect(ReadOnlySpan<byte> payload)
    {
        RequireNegotiated((byte)MilterCommand.Connect);
        Context.Macros.ClearAfter(MacroStage.Connect);
        ConnectCommand connect = ConnectCommand.Parse(payload);
        Client = System.Text.Encoding.UTF8.GetString(connect.Address.IsEmpty ? connect.HostName : connect.Address);

        var data = new EventData { Connect = new ConnectInfo(connect.HostName, connect.Family, connect.Port, connect.Address) };
        Verdict verdict = RunChain(MilterEvent.Connect, data);
        if (!verdict.IsContinue)
        {
            LastVerdict = verdict.Kind;
        }

        Reply(MilterEvent.Connect, verdict, ProtocolFlags.NoReplyConnect);
    }

    private void OnMail(ReadOnlySpan<byte> payload)
    {
        RequireNegotiated((byte)MilterCommand.Mail);
        Context.Macros.ClearAfter(MacroStage.MailFrom);
        if (_inMessage && !_messageDecided)
        {
            // Sendmail sends no ABORT after a message it finished; Postfix does. Either way a new MAIL starts afresh.
            AbortMessage();
        }

        _inMessage = true;
        _messageDecided = false;
        _pendingFailure = null;
        _editor.Reset();
        Messages++;
        LastVerdict = VerdictKind.Continue;
        var data = new EventData { Envelope = EnvelopeAddress.Parse(payload) };
        Reply(MilterEvent.MailFrom, RunChain(MilterEvent.MailFrom, data), ProtocolFlags.NoReplyMail);
    }

    private void OnEndOfMessage(ReadOnlySpan<byte> payload)
    {
        RequireNegotiated((byte)MilterCommand.EndOfMessage);
        if (!payload.IsEmpty)
        {
            // libmilter delivers body bytes that arrive with end-of-message as one more body chunk; so do we.
            Verdict bodyVerdict = RunChain(MilterEvent.Body, new EventData { Bytes = payload });
            if (!bodyVerdict.IsContinue && bodyVerdict.Kind != VerdictKind.Skip)
            {
                FinishMessage(bodyVerdict);
                return;
            }
        }

        Verdict verdict = Verdict.Continue;
        if (_pendingFailure is { } failure)
        {
            verdict = failure;
        }
        else
        {
            foreach (FilterDispatcher d in _dispatchers)
            {
                MessageEditor.EditorMark mark = _editor.Mark();
                Verdict v;
                try
                {
                    v = d.EndOfMessage(_editor, Context);
                }
                catch (Exception ex)
                {
                    _editor.Rollback(mark);
                    v = Fail(d, MilterEvent.EndOfMessage, ex);
                }

                if (v.Kind == VerdictKind.Skip)
                {
                    v = Verdict.Continue;
                }

                if (!v.IsContinue)
                {
                    verdict = v;
                    break;
                }
            }
        }

        FinishMessage(verdict);
    }

    private void FinishMessage(Verdict verdict)
    {
        if (verdict.Kind is not (VerdictKind.Reject or VerdictKind.TempFail or VerdictKind.Discard))
        {
            // Edits only make sense for a message that is delivered.
            Output.Write(_editor.EditFrames);
            MilterFrameWriter.WriteChunked(Output, (byte)MilterResponse.ReplaceBody, _editor.BodyContent);
        }

        QueueId = Context.GetMacroString("i") ?? QueueId;
        LastVerdict = verdict.IsContinue ? VerdictKind.Accept : verdict.Kind;
        WriteVerdict(verdict);
        _inMessage = false;
        _messageDecided = true;
        _editor.Reset();
    }

    private void AbortMessage()
    {
        if (_inMessage && !_messageDecided)
        {
            foreach (FilterDispatcher d in _dispatchers)
            {
                try
                {
                    d.Abort(Context);
                }
                catch (Exception ex)
                {
                    Log.FilterFailed(_log, FilterName(d), MilterEvent.Abort, Context.ConnectionId, ex);
                }
            }
        }

        _inMessage = false;
        _pendingFailure = null;
        _editor.Reset();
    }

    private Verdict RunChain(MilterEvent e, scoped EventData data)
    {
        FilterDispatcher[] dispatchers = _dispatchers;
        for (int i = 0; i < dispatchers.Length; i++)
        {
            FilterDispatcher d = dispatchers[i];
            Verdict v;
            try
            {
                v = e switch
                {
                    MilterEvent.Connect => d.Connect(data.Connect, Context),
                    MilterEvent.Helo => d.Helo(data.Bytes, Context),
                    MilterEvent.MailFrom => d.MailFrom(data.Envelope, Context),
                    MilterEvent.RcptTo => d.RcptTo(data.Envelope, Context),
                    MilterEvent.Data => d.Data(Context),
                    MilterEvent.Header => d.Header(data.Header, Context),
                    MilterEvent.EndOfHeaders => d.EndOfHeaders(Context),
                    MilterEvent.Body => d.Body(data.Bytes, Context),
                    MilterEvent.Unknown => d.Unknown(data.Bytes, Context),
                    _ => Verdict.Continue,
                };
            }
            catch (Exception ex)
            {
                v = Fail(d, e, ex);
            }

            if (v.Kind == VerdictKind.Skip && (e != MilterEvent.Body || dispatchers.Length > 1))
            {
                v = Verdict.Continue;
            }

            if (!v.IsContinue)
            {
                return v;
            }
        }

        return Verdict.Continue;
    }

    private Verdict Fail(FilterDispatcher d, MilterEvent e, Exception ex)
    {
        Log.FilterFailed(_log, FilterName(d), e, Context.ConnectionId, ex);
        return _options.FallbackVerdict switch
        {
            VerdictKind.Reject => Verdict.Reject,
            VerdictKind.Accept => Verdict.Accept,
            VerdictKind.Discard => Verdict.Discard,
            VerdictKind.Continue => Verdict.Continue,
            _ => Verdict.TempFail,
        };
    }

    private void Reply(MilterEvent e, Verdict verdict, ProtocolFlags noReplyBit)
    {
        if ((_protocol & noReplyBit) != 0)
        {
            // The MTA does not wait for an answer. A failure is kept for the next point where we can answer; a skip
            // has nothing to answer (the MTA keeps sending), and kept it would end the message with 's'.
            if (verdict.Kind is not (VerdictKind.Continue or VerdictKind.Skip) && _inMessage)
            {
                _pendingFailure ??= verdict;
            }

            return;
        }

        if (verdict.IsContinue && _pendingFailure is { } failure && _inMessage)
        {
            verdict = failure;
        }

        bool decidesMessage = verdict.Kind switch
        {
            VerdictKind.Continue or VerdictKind.Skip => false,
            VerdictKind.Reject or VerdictKind.TempFail => e is not (MilterEvent.RcptTo or MilterEvent.Unknown),
            _ => true,
        };
        if (decidesMessage && _inMessage)
        {
            _messageDecided = true;
            _inMessage = false;
            LastVerdict = verdict.Kind;
            QueueId = Context.GetMacroString("i") ?? QueueId;
        }

        WriteVerdict(verdict);
    }

    private void WriteVerdict(Verdict verdict)
    {
        switch (verdict.Kind)
        {
            case VerdictKind.Continue:
                MilterFrameWriter.WriteEmpty(Output, (byte)MilterResponse.Continue);
                break;
            case VerdictKind.Accept:
                MilterFrameWriter.WriteEmpty(Output, (byte)MilterResponse.Accept);
                break;
            case VerdictKind.Discard:
                MilterFrameWriter.WriteEmpty(Output, (byte)MilterResponse.Discard);
                break;
            case VerdictKind.Skip:
                MilterFrameWriter.WriteEmpty(Output, (byte)((_protocol & ProtocolFlags.Skip) != 0 ? MilterResponse.Skip : MilterResponse.Continue));
                break;
            case VerdictKind.Reject:
            case VerdictKind.TempFail:
                bool transient = verdict.Kind == VerdictKind.TempFail;
                SmtpReply? pending = Context.TakeReply();
                SmtpReply? reply = verdict.Reply ?? pending;
                if (reply is not null && reply.IsTransient == transient)
                {
                    MilterFrameWriter.Write(Output, (byte)MilterResponse.ReplyCode, reply.Payload);
                }
                else
                {
                    MilterFrameWriter.WriteEmpty(Output, (byte)(transient ? MilterResponse.TempFail : MilterResponse.Reject));
                }

                break;
        }
    }

    private void RequireNegotiated(byte command)
    {
        if (!_negotiated)
        {
            MilterProtocolException.Throw(MilterProtocolError.UnexpectedCommand,
                $"command '{(char)command}' arrived before option negotiation");
        }
    }

    private string FilterName(FilterDispatcher d)
    {
        int i = Array.IndexOf(_dispatchers, d);
        return i >= 0 ? _chain.Filters[i].Name : d.GetType().Name;
    }

    /// <summary>The arguments of one event, whatever its kind.</summary>
    private ref struct EventData
    {
        public ConnectInfo Connect;
        public ReadOnlySpan<byte> Bytes;
        public EnvelopeAddress Envelope;
        public HeaderField Header;
    }
}
