using System.Text;
using AotMilter.Hosting;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter;

/// <summary>
/// What a callback knows about its connection: macros, the negotiated protocol, a logger, and the custom reply to
/// send with the next reject or tempfail. One instance per milter connection, reused for every message; the daemon
/// reuses it for a later connection too, so a filter must not keep it (or use it from a task it left running) after
/// its connection's close callback.
/// </summary>
public sealed class MilterContext : IMilterContextControl
{
    /// <summary>
    /// A context for one connection at a time. The host creates it (and drives it through
    /// <see cref="IMilterContextControl"/>); a unit test may create one to call a filter's method directly.
    /// </summary>
    public MilterContext(ILogger logger)
    {
        Logger = logger;
        Macros = new MacroStore();
    }

    /// <summary>The macros the MTA sent, per stage (see <see cref="GetMacro"/>).</summary>
    public MacroStore Macros { get; }

    /// <summary>Where a filter logs. Structured and cheap when the level is off.</summary>
    public ILogger Logger { get; }

    /// <summary>
    /// The daemon's memory budget (<c>--max-memory</c>), shared by every connection; null outside the daemon (a test
    /// host may leave it unset). A filter that keeps a peer's bytes beyond a small working size (a body it collects
    /// for a scanner, say) reserves them here first and gives them back when it drops them; when a reservation fails,
    /// it stops collecting and passes or fails the message as its settings say, instead of growing.
    /// The bundled filters' body buffers take it as an argument.
    /// </summary>
    public IMemoryReservation? MemoryBudget { get; private set; }

    /// <summary>A number that identifies the milter connection in the daemon's log.</summary>
    public long ConnectionId { get; private set; }

    /// <summary>The protocol version agreed with the MTA (2–6).</summary>
    public uint ProtocolVersion { get; private set; }

    /// <summary>The modifications the MTA allows on this connection.</summary>
    public ActionFlags NegotiatedActions { get; private set; }

    /// <summary>The protocol options agreed with the MTA.</summary>
    public ProtocolFlags NegotiatedProtocol { get; private set; }

    /// <summary>
    /// Fires when the running callback should give up: its deadline (<c>--callback-timeout</c>) has passed, the MTA
    /// hung up, or the daemon is stopping. An asynchronous callback passes it to whatever it waits for (a scanner's
    /// socket, a store); one that completes later than that has its verdict replaced by the fallback. A callback may
    /// also declare a <see cref="CancellationToken"/> parameter, which receives this token. The token is the running
    /// callback's: read it in each callback, never keep it in a field for later ones. Once it has fired, the next
    /// callback gets a new one, and the kept one stays cancelled for good.
    /// </summary>
    public CancellationToken CallbackAborted => _aborted.Token;

    private CancellationTokenSource _aborted = new();

    void IMilterContextControl.AbortCallback()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException)
        {
            // A registration of the filter's threw: it is the filter's failure, not the connection's.
        }
    }

    // Allocates only when the token fired.
    void IMilterContextControl.RenewCallbackToken()
    {
        if (!_aborted.TryReset())
        {
            _aborted.Dispose();
            _aborted = new CancellationTokenSource();
        }
    }

    /// <summary>The reply set by <see cref="SetReply"/> and not yet used, or null.</summary>
    public SmtpReply? PendingReply { get; private set; }

    /// <summary>
    /// The value of a macro (<c>"i"</c>, <c>"{auth_authen}"</c> or <c>"auth_authen"</c>), searched from the latest
    /// stage back to connect; empty when the MTA did not send it.
    /// </summary>
    public ReadOnlySpan<byte> GetMacro(ReadOnlySpan<char> name)
        => Macros.TryGet(name, out ReadOnlySpan<byte> value) ? value : default;

    /// <summary>True when the MTA sent the macro.</summary>
    public bool TryGetMacro(ReadOnlySpan<char> name, out ReadOnlySpan<byte> value) => Macros.TryGet(name, out value);

    /// <summary>The value of a macro as a string, or null when the MTA did not send it. Allocates.</summary>
    public string? GetMacroString(ReadOnlySpan<char> name)
        => Macros.TryGet(name, out ReadOnlySpan<byte> value) ? Encoding.UTF8.GetString(value) : null;

    /// <summary>
    /// Sets the reply for the next reject (5xx) or tempfail (4xx) this connection sends, as smfi_setreply does.
    /// A verdict that carries its own reply wins; a reply of the other class than the verdict is not used.
    /// </summary>
    public void SetReply(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        PendingReply = reply;
    }

    SmtpReply? IMilterContextControl.TakeReply()
    {
        SmtpReply? reply = PendingReply;
        PendingReply = null;
        return reply;
    }

    void IMilterContextControl.Negotiated(uint version, ActionFlags actions, ProtocolFlags protocol)
    {
        ProtocolVersion = version;
        NegotiatedActions = actions;
        NegotiatedProtocol = protocol;
    }

    void IMilterContextControl.UseMemoryBudget(IMemoryReservation? budget) => MemoryBudget = budget;

    void IMilterContextControl.Reuse(long connectionId)
    {
        ConnectionId = connectionId;
        ProtocolVersion = 0;
        NegotiatedActions = 0;
        NegotiatedProtocol = 0;
        PendingReply = null;
        Macros.Clear();
    }
}
