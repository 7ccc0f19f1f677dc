using AotMilter.Protocol;

namespace AotMilter.Hosting;

/// <summary>
/// The host's side of a <see cref="MilterContext"/>: what the server that runs the filters does to a connection's
/// context between callbacks. Filters never need it: the context implements it explicitly, so none of it shows on the
/// context a callback receives; a host converts the context it created (<c>IMilterContextControl control = context;</c>).
/// </summary>
public interface IMilterContextControl
{
    /// <summary>
    /// Gives the context to a new connection (a host reuses contexts, as HTTP servers reuse request contexts): the
    /// macros, the negotiated protocol and any pending reply are cleared.
    /// </summary>
    void Reuse(long connectionId);

    /// <summary>Records what option negotiation agreed with the MTA.</summary>
    void Negotiated(uint version, ActionFlags actions, ProtocolFlags protocol);

    /// <summary>The memory budget filters reserve their buffers from (<see cref="MilterContext.MemoryBudget"/>).</summary>
    void UseMemoryBudget(IMemoryReservation? budget);

    /// <summary>Fires <see cref="MilterContext.CallbackAborted"/>: the callback's deadline passed, the MTA hung up, or the host stops.</summary>
    void AbortCallback();

    /// <summary>A fresh <see cref="MilterContext.CallbackAborted"/> token for the next callback, once a fired one must not be seen again.</summary>
    void RenewCallbackToken();

    /// <summary>Takes the reply a filter set with <see cref="MilterContext.SetReply"/>, if any, when a verdict is sent.</summary>
    SmtpReply? TakeReply();
}
