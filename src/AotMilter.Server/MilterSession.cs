using System.Runtime.CompilerServices;
using AotMilter.Hosting;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// The server side of one milter connection as a state machine: frames in, reply frames out (into the replies buffer
/// the connection gave it with <see cref="Attach"/>), filters called in between. It does no I/O and owns no buffer
/// of the connection's: the connection sends and recycles the replies, and sends the progress frames the filters
/// ask for. A frame is parsed once and then run as steps (MilterSession.Frames.cs). When a filter's callback has not
/// completed synchronously, <see cref="Process"/> returns false with the frame's step kept; the connection awaits
/// <see cref="CompletePendingAsync"/> and calls <see cref="Continue"/>, which takes the callback's verdict and goes on
/// from that step. Synchronous filters never leave the fast path, which allocates nothing per message. Everything is
/// reused from message to message.
/// </summary>
public sealed partial class MilterSession
{
    private readonly FilterChain _chain;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private readonly MessageEditor _editor = new();

    // The host's side of the editor: its frames and rollback marks (the filters get _editor).
    private readonly IMessageEditorControl _edits;
    private readonly MessageCopy? _copy;
    private FilterDispatcher[] _dispatchers = [];
    private object?[] _dispatchersMadeWith = [];
    private ProtocolFlags _protocol;
    private bool _negotiated;
    private bool _sessionOpen;
    private bool _inMessage;
    private bool _messageDecided;
    private Verdict? _pendingFailure;

    // The callback that did not complete synchronously, and what it returned once awaited.
    private Pending _pending;
    private ValueTask<Verdict> _pendingDecision;
    private Task? _pendingObservers;
    private int _pendingFilter;
    private MilterEvent _pendingEvent;
    private Verdict _completed;
    private EditorMark _endOfMessageMark;

    public MilterSession(FilterChain chain, MilterServerOptions options, ILogger serverLog, ILogger filterLog, long connectionId, MilterMetrics metrics, MemoryBudget? budget = null)
    {
        _chain = chain;
        Metrics = metrics;
        _options = options;
        _log = serverLog;
        _edits = _editor;
        Context = new MilterContext(filterLog);
        ContextControl = Context;
        ContextControl.Reuse(connectionId);
        Context.Macros.Budget = budget;
        ContextControl.UseMemoryBudget(budget);
        _edits.UseBudget(budget);
        if (chain.Filters.Count > 1)
        {
            _copy = new MessageCopy(options.MaxChainMessageSize, budget);
        }
    }

    private enum Pending : byte
    {
        None,
        Decision,
        EndOfMessage,
        Observers,
    }

    /// <summary>The chain's filter names, for log lines.</summary>
    public string FilterNames => _chain.Names;

    /// <summary>Where verdicts, latencies and errors are counted (null: nowhere).</summary>
    public MilterMetrics Metrics { get; }

    private long _pendingStarted;

    // Where reply frames go and who sends progress frames: the connection's (see Attach).
    private ByteBufferWriter _replies = null!;
    private IProgressSender? _progress;

    public MilterContext Context { get; }

    /// <summary>The host's side of <see cref="Context"/> (deadlines, reuse, the pending reply).</summary>
    public IMilterContextControl ContextControl { get; }

    /// <summary>True once the MTA said QUIT: the connection should close.</summary>
    public bool IsQuit { get; private set; }

    /// <summary>Messages started on this connection.</summary>
    public int Messages { get; private set; }

    /// <summary>The outcome of the latest message (or of the connection, when it was decided at connect or HELO).</summary>
    public VerdictKind LastVerdict { get; private set; }

    /// <summary>True when the last message was accepted with a quarantine edit (the MTA holds it instead of delivering).</summary>
    public bool LastQuarantined { get; private set; }

    /// <summary>The client address reported at connect, for the log.</summary>
    public string? Client => _clientLength < 0 ? null : System.Text.Encoding.UTF8.GetString(_client, 0, _clientLength);

    /// <summary>The client address (or host name) reported at connect, as sent; empty before connect.</summary>
    public ReadOnlySpan<byte> ClientBytes => _clientLength < 0 ? default : _client.AsSpan(0, _clientLength);

    /// <summary>The queue id (macro i) of the latest message, as sent; empty when none was seen.</summary>
    public ReadOnlySpan<byte> QueueIdBytes => _queueIdLength < 0 ? default : _queueId.AsSpan(0, _queueIdLength);

    // Kept as bytes for the same reason as the queue id below: a string only when a log line is written.
    private byte[] _client = new byte[48];
    private int _clientLength = -1;

    /// <summary>The queue id (macro i) of the latest message, for the log.</summary>
    public string? QueueId => _queueIdLength < 0 ? null : System.Text.Encoding.UTF8.GetString(_queueId, 0, _queueIdLength);

    // The latest queue id, kept as bytes: turning it into a string for every message would be the only allocation
    // of a message; the log needs it once per connection.
    private byte[] _queueId = new byte[16];
    private int _queueIdLength = -1;

    private void RememberQueueId()
    {
        if (Context.TryGetMacro("i", out ReadOnlySpan<byte> id))
        {
            Remember(id, ref _queueId, out _queueIdLength);
        }
    }

    private static void Remember(ReadOnlySpan<byte> value, ref byte[] store, out int length)
    {
        if (value.Length > store.Length)
        {
            store = new byte[value.Length];
        }

        value.CopyTo(store);
        length = value.Length;
    }

    /// <summary>
    /// Makes a finished session as new for the next connection (the daemon keeps a few per I/O thread instead of
    /// allocating them per connection). Like an HTTP server's per-request context, the <see cref="Context"/> object
    /// is reused: a filter must not keep it beyond its connection.
    /// </summary>
    internal void Reuse(long connectionId)
    {
        // The filter instances stay: the next session resets or replaces them (FilterChain.CreateDispatchers).
        _protocol = 0;
        _negotiated = false;
        _sessionOpen = false;
        _inMessage = false;
        _messageDecided = false;
        _pendingFailure = null;
        _pending = Pending.None;
        _pendingDecision = default;
        _pendingObservers = null;
        _pendingFilter = 0;
        _pendingEvent = default;
        _completed = default;
        _step = Step.Idle;
        _event = default;
        _nextFilter = 0;
        _suspended = default;
        _endOfMessageMark = default;
        _pendingStarted = 0;
        _callbackLate = false;
        IsQuit = false;
        Messages = 0;
        NoteOutcome(VerdictKind.Continue);
        _clientLength = -1;
        _queueIdLength = -1;

        // The buffers went back to their working size when the connection closed (ReleaseBuffers).
        _copy?.Clear();
        ContextControl.Reuse(connectionId);
    }

    private void NoteOutcome(VerdictKind verdict, bool quarantined = false)
    {
        LastVerdict = verdict;
        LastQuarantined = quarantined;
    }

    /// <summary>
    /// Gives the session the connection's side: the buffer its reply frames are written into (the connection sends
    /// them and recycles the buffer) and where a filter's <c>Progress()</c> goes. Once, before the first frame.
    /// </summary>
    public void Attach(ByteBufferWriter replies, IProgressSender? progress)
    {
        _replies = replies;
        _progress = progress;
    }

    /// <summary>True while an end-of-message callback is still running (the MTA accepts progress frames then).</summary>
    public bool IsWaitingForEndOfMessage => _pending == Pending.EndOfMessage;

    /// <summary>
    /// True while the filters' end-of-message callbacks run, synchronously or pending: the only time the MTA takes a
    /// progress frame (any other time it would be read as the answer to the command it waits on).
    /// </summary>
    public bool IsInEndOfMessage => _step is Step.EndOfMessageStart or Step.EndOfMessageWait;

    /// <summary>Waits for the callback that made <see cref="Process"/> return false. A failure becomes the fallback verdict.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask CompletePendingAsync()
    {
        switch (_pending)
        {
            case Pending.Decision:
            case Pending.EndOfMessage:
                try
                {
                    _completed = await _pendingDecision.ConfigureAwait(false);
                    if (_callbackLate)
                    {
                        // Past its deadline the callback's word no longer counts: the MTA is owed the fallback.
                        throw new TimeoutException($"the callback returned after its deadline ({_options.CallbackTimeout.TotalSeconds:0.###}s)");
                    }
                }
                catch (Exception ex)
                {
                    if (_pending == Pending.EndOfMessage)
                    {
                        _edits.Rollback(_endOfMessageMark);
                        _copy?.ForgetReplacement();
                    }

                    _completed = Fail(_pendingFilter, _pendingEvent, ex);
                }

                if (_pending == Pending.Decision || _copy is null)
                {
                    // A chain's end of message counts each filter itself.
                    Metrics.Latency(_pendingEvent, _pendingStarted);
                    Metrics.Verdict(_pendingFilter, _pendingEvent, _completed.Kind);
                }

                break;
            case Pending.Observers:
                // Each observer logs its own failure (see ObserveAsync).
                await _pendingObservers!.ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException("no callback is pending");
        }

        _pendingDecision = default;
        _pendingObservers = null;
        _pending = Pending.None;
        _callbackLate = false;
        ContextControl.RenewCallbackToken();
    }

    private bool _callbackLate;

    /// <summary>True once option negotiation is done.</summary>
    public bool IsNegotiated => _negotiated;

    /// <summary>What the pending callback is, for log lines: "filter X in Event".</summary>
    public string PendingCallback => _pending switch
    {
        Pending.Observers => $"{_chain.Names} in {(_inMessage ? "abort/close" : "close")}",
        Pending.EndOfMessage when _copy is not null => $"{_chain.Names} in EndOfMessage",
        _ => $"{_chain.Filters[Math.Min(_pendingFilter, _chain.Filters.Count - 1)].Name} in {_pendingEvent}",
    };

    /// <summary>
    /// The pending callback passed its deadline: its token fires, and whatever it returns from now on becomes the
    /// fallback verdict (logged as the filter's failure).
    /// </summary>
    internal void CallbackDeadlinePassed()
    {
        _callbackLate = true;
        ContextControl.AbortCallback();
    }

    /// <summary>
    /// Gives up on a pending callback that did not return even after its token fired: writes the fallback verdict
    /// where the MTA waits for a reply. The connection closes next; the callback's late result is never read.
    /// </summary>
    internal void AbandonPending()
    {
        bool awaitsReply = _pending switch
        {
            Pending.EndOfMessage => true,
            Pending.Decision => (_protocol & NoReplyBit(_pendingEvent)) == 0,
            _ => false,
        };
        if (awaitsReply)
        {
            Metrics.Exception(_pendingFilter);
            NoteOutcome(Fallback.Kind);
            WriteVerdict(Fallback);
        }
    }

    private static ProtocolFlags NoReplyBit(MilterEvent e) => e switch
    {
        MilterEvent.Connect => ProtocolFlags.NoReplyConnect,
        MilterEvent.Helo => ProtocolFlags.NoReplyHelo,
        MilterEvent.MailFrom => ProtocolFlags.NoReplyMail,
        MilterEvent.RcptTo => ProtocolFlags.NoReplyRcpt,
        MilterEvent.Data => ProtocolFlags.NoReplyData,
        MilterEvent.Header => ProtocolFlags.NoReplyHeader,
        MilterEvent.EndOfHeaders => ProtocolFlags.NoReplyEndOfHeaders,
        MilterEvent.Body => ProtocolFlags.NoReplyBody,
        MilterEvent.Unknown => ProtocolFlags.NoReplyUnknown,
        _ => 0,
    };

    /// <summary>Gives buffers grown past their working size back (the connection ended; the session waits in a pool).</summary>
    internal void ReleaseBuffers()
    {
        _edits.Reset();
        _copy?.Release();
        Context.Macros.Release();
    }

    /// <summary>Ends the SMTP connection's filters (abort, then close), if still open: EOF, errors, shutdown.</summary>
    public async ValueTask CloseSessionAsync()
    {
        // Whatever frame was in hand is given up (the MTA hung up, or the connection failed).
        _step = Step.Idle;
        if (!_sessionOpen)
        {
            return;
        }

        if (_inMessage && !_messageDecided && !RunObservers(MilterEvent.Abort))
        {
            await CompletePendingAsync().ConfigureAwait(false);
        }

        _inMessage = false;
        if (!RunObservers(MilterEvent.Close))
        {
            await CompletePendingAsync().ConfigureAwait(false);
        }

        _sessionOpen = false;
    }

    private Verdict Fallback => _options.FallbackVerdict switch
    {
        VerdictKind.Reject => Verdict.Reject,
        VerdictKind.Accept => Verdict.Accept,
        VerdictKind.Discard => Verdict.Discard,
        VerdictKind.Continue => Verdict.Continue,
        _ => Verdict.TempFail,
    };
}
