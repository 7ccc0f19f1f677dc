using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>The steps that open and end a session and a message: negotiation, MAIL, abort, quit.</summary>
public sealed partial class MilterSession
{
    // Quit's variant: the MTA keeps this milter connection for its next SMTP connection.
    private bool _quitKeepsConnection;

    private void Negotiate(OptionNegotiation offered)
    {
        _step = Step.Idle;
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

    private void FinishQuit()
    {
        _step = Step.Idle;
        _sessionOpen = false;
        if (_quitKeepsConnection)
        {
            // No new negotiation follows: the next SMTP connection's filters start now.
            OpenSession();
        }
        else
        {
            IsQuit = true;
        }
    }

    private void StartMessage()
    {
        _inMessage = true;
        _messageDecided = false;
        _pendingFailure = null;
        _edits.Reset();
        _copy?.Clear();
        Messages++;
        Metrics.MessageStarted();
        NoteOutcome(VerdictKind.Continue);
        StartDecision(MilterEvent.MailFrom);
    }

    private void FinishAbort()
    {
        _step = Step.Idle;
        _inMessage = false;
        _pendingFailure = null;
        _edits.Reset();
    }

    /// <summary>Checks that the command may come now and clears the macros of later stages.</summary>
    private void Begin(byte command, MacroStage? stage)
    {
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
