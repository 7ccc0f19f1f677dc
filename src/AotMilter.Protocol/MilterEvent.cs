// A protocol fact (the MTA side of the conversation is told in events too), kept in the filter API's namespace, where
// filter authors meet it in attributes and in the kit's results.
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
