namespace AotMilter;

/// <summary>The events a filter can handle, in the order they occur.</summary>
public enum MilterEvent : byte
{
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
    Header,
    EndOfHeaders,
    Body,
    EndOfMessage,
    Abort,
    Close,
    Unknown,
}
