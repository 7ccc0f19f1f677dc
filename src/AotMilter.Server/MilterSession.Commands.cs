using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>The commands that open and end a session and a message: negotiation, connect, MAIL, abort, quit.</summary>
public sealed partial class MilterSession
{
    private bool OnNegotiate(ReadOnlySpan<byte> payload)
    {
        OptionNegotiation offered = OptionNegotiation.Parse(payload);
        if (_step == Step.Start && _sessionOpen)
        {
            // A second negotiation on one connection starts a new SMTP connection's filters.
            _step = Step.CloseBeforeNegotiation;
            if (!RunObservers(MilterEvent.Close))
            {
                return false;
            }
        }

        _step = Step.Start;
        _resuming = false;
        ProtocolFlags wanted = _chain.Protocol;
        if (!_options.UseNoReplyFlags)
        {
            wanted &= ~ProtocolFlags.AllNoReplies;
        }

        ReadOnlySpan<byte> symbolLists = _chain.SymbolLists.Span;
        ActionFlags actions = _chain.Actions;
        if (!symbolLists.IsEmpty)
        {
            // Macro requests travel in the negotiation reply; an MTA that cannot take them sends its defaults.
            if (offered.Version >= 6 && (offered.Actions & ActionFlags.SetSymbolList) != 0)
            {
                actions |= ActionFlags.SetSymbolList;
            }
            else
            {
                symbolLists = default;
            }
        }

        OptionNegotiation reply = Negotiator.Negotiate(offered, wanted, actions);
        _protocol = reply.Protocol;
        ContextControl.Negotiated(reply.Version, reply.Actions, reply.Protocol);
        _edits.Configure(reply.Actions, (reply.Protocol & ProtocolFlags.HeaderLeadingSpace) != 0, _progress);
        MilterFrameWriter.WriteNegotiation(_replies, reply, symbolLists);
        Log.Negotiated(_log, Context.ConnectionId, offered.Version, (uint)offered.Actions, (uint)offered.Protocol, reply.Version, (uint)reply.Actions, (uint)reply.Protocol);
        _negotiated = true;
        OpenSession();
        return true;
    }

    private void OpenSession()
    {
        _chain.CreateDispatchers(ref _dispatchers, ref _dispatchersMadeWith);
        Context.Macros.Clear();
        ContextControl.TakeReply();
        _sessionOpen = true;
        _inMessage = false;
        _messageDecided = false;
        _pendingFailure = null;
    }

    private bool OnQuit(bool newConnection)
    {
        if (_step == Step.Start)
        {
            _step = Step.QuitAbort;
            if (_sessionOpen && _inMessage && !_messageDecided)
            {
                _inMessage = false;
                if (!RunObservers(MilterEvent.Abort))
                {
                    return false;
                }
            }
        }

        if (_step == Step.QuitAbort)
        {
            _resuming = false;
            _step = Step.QuitClose;
            if (_sessionOpen && !RunObservers(MilterEvent.Close))
            {
                return false;
            }
        }

        _resuming = false;
        _step = Step.Start;
        _sessionOpen = false;
        if (newConnection)
        {
            // The MTA keeps this milter connection for its next SMTP connection; no new negotiation follows.
            OpenSession();
        }
        else
        {
            IsQuit = true;
        }

        return true;
    }

    private bool OnConnect(ReadOnlySpan<byte> payload)
    {
        Begin((byte)MilterCommand.Connect, MacroStage.Connect);
        ConnectCommand connect = ConnectCommand.Parse(payload);
        if (!_resuming)
        {
            Remember(connect.Address.IsEmpty ? connect.HostName : connect.Address, ref _client, out _clientLength);
        }

        var data = new EventData { Connect = new ConnectInfo(connect) };
        return Decide(MilterEvent.Connect, data, ProtocolFlags.NoReplyConnect);
    }

    private bool OnMail(ReadOnlySpan<byte> payload)
    {
        if (_step == Step.Start)
        {
            Begin((byte)MilterCommand.Mail, MacroStage.MailFrom);
            _step = Step.AbortBeforeMail;
            if (_inMessage && !_messageDecided)
            {
                // Sendmail sends no ABORT after a message it finished; Postfix does. Either way a new MAIL starts afresh.
                _inMessage = false;
                if (!RunObservers(MilterEvent.Abort))
                {
                    return false;
                }
            }
        }

        if (_step == Step.AbortBeforeMail)
        {
            _resuming = false;
            _step = Step.MailFrom;
            _inMessage = true;
            _messageDecided = false;
            _pendingFailure = null;
            _edits.Reset();
            _copy?.Clear();
            Messages++;
            Metrics.MessageStarted();
            NoteOutcome(VerdictKind.Continue);
        }

        var data = new EventData { Envelope = EnvelopeAddress.Parse(payload) };
        bool done = Decide(MilterEvent.MailFrom, data, ProtocolFlags.NoReplyMail);
        if (done)
        {
            _step = Step.Start;
        }

        return done;
    }

    private bool OnAbort()
    {
        if (_step == Step.Start && _inMessage && !_messageDecided)
        {
            _step = Step.Abort;
            _inMessage = false;
            if (!RunObservers(MilterEvent.Abort))
            {
                return false;
            }
        }

        _resuming = false;
        _step = Step.Start;
        _inMessage = false;
        _pendingFailure = null;
        _edits.Reset();
        return true;
    }

    /// <summary>Checks the state and clears later macro stages, unless the frame is being resumed.</summary>
    private void Begin(byte command, MacroStage? stage)
    {
        if (_resuming)
        {
            return;
        }

        if (!_negotiated)
        {
            MilterProtocolException.Throw(MilterProtocolError.UnexpectedCommand,
                $"command '{(char)command}' arrived before option negotiation");
        }

        if (stage is { } s)
        {
            Context.Macros.ClearAfter(s);
        }
    }
}
