namespace AotMilter.Generators.Model;

/// <summary>
/// The SMFIM_* stages, with the values and member names of AotMilter.Protocol.MacroStage (copied: the generator
/// references no project; a test checks they match). End of message (5) comes before end of headers (6) on the wire.
/// </summary>
internal enum MacroStage
{
    Connect = 0,
    Helo = 1,
    MailFrom = 2,
    RcptTo = 3,
    Data = 4,
    EndOfMessage = 5,
    EndOfHeaders = 6,
}
