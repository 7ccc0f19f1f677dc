namespace AotMilter.Mta;

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
