namespace AotMilter.Protocol;

/// <summary>Command bytes the MTA sends to the milter (SMFIC_*).</summary>
public enum MilterCommand : byte
{
    Abort = (byte)'A',
    Body = (byte)'B',
    Connect = (byte)'C',
    Macro = (byte)'D',
    EndOfMessage = (byte)'E',
    Helo = (byte)'H',
    QuitNewConnection = (byte)'K',
    Header = (byte)'L',
    Mail = (byte)'M',
    EndOfHeaders = (byte)'N',
    OptionNegotiation = (byte)'O',
    Quit = (byte)'Q',
    Rcpt = (byte)'R',
    Data = (byte)'T',
    Unknown = (byte)'U',
}
