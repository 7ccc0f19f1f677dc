namespace AotMilter.Protocol;

/// <summary>
/// SMFIM_* stage numbers used in the symbol-list part of the negotiation reply, and the slots of
/// <c>MacroStore</c>. Note that end-of-message (5) comes before end-of-headers (6) on the wire.
/// </summary>
public enum MacroStage
{
    Connect = 0,
    Helo = 1,
    MailFrom = 2,
    RcptTo = 3,
    Data = 4,
    EndOfMessage = 5,
    EndOfHeaders = 6,
}
