namespace AotMilter.Generators.Model;

/// <summary>The milter events a filter can handle, in the order of a conversation (also the order of emission).</summary>
internal enum CallbackKind
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
