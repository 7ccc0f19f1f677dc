using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// How a frame is handled: <see cref="Process"/> checks and parses it once and does what must happen once per frame
/// (the chain's copy, the client's address), then <see cref="Run"/> takes it through its steps. A step whose
/// callbacks do not complete synchronously leaves <see cref="_step"/> where the frame stands; <see cref="Continue"/>
/// picks up there. Each command's steps are in the order the MTA expects: for MAIL, the previous message's abort,
/// then the new message, then the chain's decision.
/// </summary>
public sealed partial class MilterSession
{
    // The frame in hand: its step, the event the chain decides and the filter it is at, and (while a callback runs
    // on) where the frame's arguments lie in its payload.
    private Step _step;
    private MilterEvent _event;
    private int _nextFilter;
    private FrameArgumentPositions _suspended;

    private enum Step : byte
    {
        /// <summary>No frame in hand.</summary>
        Idle,

        /// <summary>The chain decides <see cref="_event"/>, from filter <see cref="_nextFilter"/> on; then the reply.</summary>
        Decide,
        CloseBeforeNegotiation,
        Negotiate,
        AbortBeforeMail,
        StartMessage,
        QuitAbort,
        QuitClose,
        QuitDone,
        Abort,
        AbortDone,

        /// <summary>Like <see cref="Decide"/>, for the body chunk an end of message carries; then the filters' end of message.</summary>
        EndOfMessageBody,
        EndOfMessageStart,
        EndOfMessageWait,
    }

    /// <summary>Handles one frame from the MTA. False: a callback is still running; see the class summary.</summary>
    /// <exception cref="MilterProtocolException">The frame is malformed or out of place.</exception>
    public bool Process(MilterFrame frame)
    {
        if (_step != Step.Idle)
        {
            throw new InvalidOperationException("the previous frame is not done: a callback of it is still pending");
        }

        ReadOnlySpan<byte> payload = frame.Payload;
        var arguments = default(FrameArguments);
        switch ((MilterCommand)frame.Command)
        {
            case MilterCommand.OptionNegotiation:
                arguments.Kind = ArgumentKind.Negotiation;
                arguments.Offered = OptionNegotiation.Parse(payload);

                // A second negotiation on one connection starts a new SMTP connection's filters.
                _step = _sessionOpen ? Step.CloseBeforeNegotiation : Step.Negotiate;
                break;
            case MilterCommand.Macro:
                Context.Macros.Store(MacroReader.Parse(payload));
                return true;
            case MilterCommand.Connect:
                Begin(frame.Command, MacroStage.Connect);
                arguments.Kind = ArgumentKind.Connect;
                arguments.Connect = ConnectCommand.Parse(payload);
                Remember(arguments.Connect.Address.IsEmpty ? arguments.Connect.HostName : arguments.Connect.Address, ref _client, out _clientLength);
                StartDecision(MilterEvent.Connect);
                break;
            case MilterCommand.Helo:
                Begin(frame.Command, MacroStage.Helo);
                arguments.Kind = ArgumentKind.Text;
                arguments.Text = NulString.Read(ref payload, "HELO name");
                StartDecision(MilterEvent.Helo);
                break;
            case MilterCommand.Mail:
                Begin(frame.Command, MacroStage.MailFrom);
                arguments.Kind = ArgumentKind.Envelope;
                arguments.Envelope = EnvelopeCommand.Parse(payload);

                // Sendmail sends no ABORT after a message it finished; Postfix does. Either way a new MAIL starts afresh.
                _step = _inMessage && !_messageDecided ? Step.AbortBeforeMail : Step.StartMessage;
                break;
            case MilterCommand.Rcpt:
                Begin(frame.Command, MacroStage.RcptTo);
                arguments.Kind = ArgumentKind.Envelope;
                arguments.Envelope = EnvelopeCommand.Parse(payload);
                StartDecision(MilterEvent.RcptTo);
                break;
            case MilterCommand.Data:
                Begin(frame.Command, null);
                StartDecision(MilterEvent.Data);
                break;
            case MilterCommand.Header:
                Begin(frame.Command, null);
                arguments.Kind = ArgumentKind.Header;
                arguments.Header = HeaderCommand.Parse(payload);
                if (_inMessage)
                {
                    // Only inside a message: headers sent outside one are never replayed, and would pile up.
                    _copy?.AddHeader(arguments.Header.Name, arguments.Header.Value);
                }

                StartDecision(MilterEvent.Header);
                break;
            case MilterCommand.EndOfHeaders:
                Begin(frame.Command, null);
                StartDecision(MilterEvent.EndOfHeaders);
                break;
            case MilterCommand.Body:
                Begin(frame.Command, null);
                arguments.Kind = ArgumentKind.Text;
                arguments.Text = payload;
                if (_inMessage)
                {
                    _copy?.AppendBody(payload);
                }

                StartDecision(MilterEvent.Body);
                break;
            case MilterCommand.EndOfMessage:
                Begin(frame.Command, null);
                arguments.Kind = ArgumentKind.Text;
                arguments.Text = payload;
                if (payload.IsEmpty)
                {
                    _step = Step.EndOfMessageStart;
                }
                else
                {
                    // libmilter delivers body bytes that arrive with end-of-message as one more body chunk; so do we.
                    if (_inMessage)
                    {
                        _copy?.AppendBody(payload);
                    }

                    StartDecision(MilterEvent.Body);
                    _step = Step.EndOfMessageBody;
                }

                break;
            case MilterCommand.Abort:
                Begin(frame.Command, null);
                _step = _inMessage && !_messageDecided ? Step.Abort : Step.AbortDone;
                break;
            case MilterCommand.Unknown:
                Begin(frame.Command, null);
                arguments.Kind = ArgumentKind.Text;
                arguments.Text = NulString.ReadLenient(ref payload);
                StartDecision(MilterEvent.Unknown);
                break;
            case MilterCommand.Quit:
            case MilterCommand.QuitNewConnection:
                _quitKeepsConnection = frame.Command == (byte)MilterCommand.QuitNewConnection;
                _step = !_sessionOpen ? Step.QuitDone : _inMessage && !_messageDecided ? Step.QuitAbort : Step.QuitClose;
                break;
            default:
                MilterProtocolException.Throw(MilterProtocolError.UnknownCommand,
                    $"unknown command 0x{frame.Command:x2}{(frame.Command is >= 0x20 and < 0x7f ? $" ('{(char)frame.Command}')" : "")}");
                break;
        }

        return Run(frame.Payload, arguments);
    }

    /// <summary>
    /// Goes on with the frame whose callback was pending, once <see cref="CompletePendingAsync"/> was awaited:
    /// <paramref name="payload"/> is that frame's payload, still in place. The callback's verdict is taken where the
    /// frame stopped; nothing of the frame is parsed or done again.
    /// </summary>
    public bool Continue(ReadOnlySpan<byte> payload)
    {
        if (_pending != Pending.None || _step == Step.Idle)
        {
            throw new InvalidOperationException("nothing to continue: no callback was pending, or CompletePendingAsync was not awaited");
        }

        FrameArguments arguments = _suspended.In(payload);
        switch (_step)
        {
            case Step.Decide:
            case Step.EndOfMessageBody:
                Verdict verdict = Normalize(_event, _completed);
                if (verdict.IsContinue)
                {
                    _nextFilter = _pendingFilter + 1;
                }
                else
                {
                    Decided(verdict);
                }

                break;
            case Step.EndOfMessageWait:
                FinishMessage(_completed);
                break;

            // Abort and close callbacks have no say: their step already points past them.
        }

        return Run(payload, arguments);
    }

    /// <summary>Takes the frame in hand through its steps; false when a callback runs on (the step is kept).</summary>
    private bool Run(ReadOnlySpan<byte> payload, scoped FrameArguments arguments)
    {
        while (true)
        {
            switch (_step)
            {
                case Step.Idle:
                    return true;
                case Step.Decide:
                case Step.EndOfMessageBody:
                    if (!RunChain(_event, arguments, out Verdict verdict))
                    {
                        return Suspend(payload, arguments);
                    }

                    Decided(verdict);
                    break;
                case Step.CloseBeforeNegotiation:
                case Step.AbortBeforeMail:
                case Step.QuitAbort:
                case Step.QuitClose:
                case Step.Abort:
                    if (!Observe(_step))
                    {
                        return Suspend(payload, arguments);
                    }

                    break;
                case Step.Negotiate:
                    Negotiate(arguments.Offered);
                    break;
                case Step.StartMessage:
                    StartMessage();
                    break;
                case Step.QuitDone:
                    FinishQuit();
                    break;
                case Step.AbortDone:
                    FinishAbort();
                    break;
                case Step.EndOfMessageStart:
                    if (!RunEndOfMessage())
                    {
                        return Suspend(payload, arguments);
                    }

                    break;
                default:
                    // EndOfMessageWait: only Continue leaves it, with the filters' verdict.
                    throw new InvalidOperationException($"step {_step} cannot run before its callback completed");
            }
        }
    }

    /// <summary>
    /// Runs every filter's abort or close callback for an observing step, the step moved on to the one after it
    /// first: these callbacks get no say, so once they complete (now, or when awaited) the frame goes on from there.
    /// </summary>
    private bool Observe(Step step)
    {
        (MilterEvent e, _step) = step switch
        {
            Step.CloseBeforeNegotiation => (MilterEvent.Close, Step.Negotiate),
            Step.AbortBeforeMail => (MilterEvent.Abort, Step.StartMessage),
            Step.QuitAbort => (MilterEvent.Abort, Step.QuitClose),
            Step.QuitClose => (MilterEvent.Close, Step.QuitDone),
            _ => (MilterEvent.Abort, Step.AbortDone),
        };
        if (e == MilterEvent.Abort)
        {
            _inMessage = false;
        }

        return RunObservers(e);
    }

    private bool Suspend(ReadOnlySpan<byte> payload, scoped FrameArguments arguments)
    {
        _suspended = arguments.Positions(payload);
        return false;
    }

    /// <summary>The chain will decide <paramref name="e"/>, from its first filter.</summary>
    private void StartDecision(MilterEvent e)
    {
        _event = e;
        _nextFilter = 0;
        _step = Step.Decide;
    }

    /// <summary>The chain decided the event in hand: the reply, or (for end of message's body chunk) what comes next.</summary>
    private void Decided(Verdict verdict)
    {
        if (_step == Step.EndOfMessageBody)
        {
            if (!verdict.IsContinue && verdict.Kind != VerdictKind.Skip)
            {
                FinishMessage(verdict);
            }
            else
            {
                _step = Step.EndOfMessageStart;
            }

            return;
        }

        _step = Step.Idle;
        if (_event == MilterEvent.Connect && !verdict.IsContinue)
        {
            NoteOutcome(verdict.Kind);
        }

        Reply(_event, verdict);
    }
}
