namespace AotMilter.Testing;

/// <summary>The points of an SMTP transaction at which an MTA asks the milter, in order.</summary>
public enum MilterStage
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
}

/// <summary>The SMTP command (or moment) at which the client sees an MTA's reply.</summary>
public enum SmtpCommand
{
    Greeting,
    Helo,
    MailFrom,
    RcptTo,
    Data,

    /// <summary>The reply to the final dot of DATA.</summary>
    EndOfData,
}
