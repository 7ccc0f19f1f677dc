namespace AotMilter.Filters.Policy;

/// <summary>What a policy rule looks at: the setting's key.</summary>
public enum PolicySubject
{
    /// <summary><c>client</c>: the client's IP address (CIDR) or host name (wildcards).</summary>
    Client,

    /// <summary><c>helo</c>: the HELO/EHLO name.</summary>
    Helo,

    /// <summary><c>sender</c>: the envelope sender (MAIL FROM).</summary>
    Sender,

    /// <summary><c>recipient</c>: each envelope recipient (RCPT TO).</summary>
    Recipient,

    /// <summary><c>auth</c>: the SMTP AUTH login name (macro {auth_authen}); <c>*</c> is any authenticated client.</summary>
    Auth,
}

/// <summary>When a rule acts, in SMTP order.</summary>
public enum PolicyStage
{
    Connect,
    Helo,
    Mail,
    Rcpt,
    Data,
}

/// <summary>What a matching rule does.</summary>
public enum PolicyAction
{
    /// <summary>Stop checking policy rules (for the connection at connect/HELO, the message at MAIL/DATA, the recipient at RCPT); other filters still run.</summary>
    Allow,

    /// <summary>The milter's accept: the MTA takes the message (or, at connect/HELO, the connection) without asking any filter again.</summary>
    Accept,

    Reject,

    TempFail,

    /// <summary>Accept and silently drop the message (not at connect or HELO, where there is no message yet).</summary>
    Discard,
}
