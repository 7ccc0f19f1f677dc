namespace AotMilter;

/// <summary>What a callback decides (SMFIS_*).</summary>
public enum VerdictKind : byte
{
    /// <summary>Go on with the next event.</summary>
    Continue,

    /// <summary>Accept: at connect or HELO the whole connection, otherwise the message, without further filtering.</summary>
    Accept,

    /// <summary>Reject with a 5xx: the connection, the message, or at RCPT that recipient only.</summary>
    Reject,

    /// <summary>Fail temporarily with a 4xx: the connection, the message, or at RCPT that recipient only.</summary>
    TempFail,

    /// <summary>Accept the message and silently drop it (message stages only).</summary>
    Discard,

    /// <summary>Send no more body chunks (body only; needs an MTA that offers SKIP, otherwise continue).</summary>
    Skip,
}
