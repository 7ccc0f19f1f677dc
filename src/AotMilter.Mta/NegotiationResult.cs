using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>
/// The milter's answer to option negotiation, as sent, with what the client offered. The client acts on
/// <see cref="EffectiveProtocol"/>: the bits the milter asked for that were also offered.
/// </summary>
public sealed record NegotiationResult(
    OptionNegotiation Offered,
    uint Version,
    ActionFlags Actions,
    ProtocolFlags Protocol,
    IReadOnlyDictionary<MacroStage, string> SymbolLists)
{
    /// <summary>The protocol bits in force: requested by the milter and offered by the client.</summary>
    public ProtocolFlags EffectiveProtocol => Protocol & Offered.Protocol;

    /// <summary>The events the milter asked not to be sent (NO* bits).</summary>
    public ProtocolFlags DeclinedEvents => EffectiveProtocol & ProtocolFlags.AllSkips;

    /// <summary>The events the milter does not answer (NR_* bits).</summary>
    public ProtocolFlags NoReplyEvents => EffectiveProtocol & ProtocolFlags.AllNoReplies;
}
