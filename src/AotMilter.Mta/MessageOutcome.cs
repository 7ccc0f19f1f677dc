namespace AotMilter.Mta;

/// <summary>What became of a message.</summary>
public enum MessageOutcome
{
    /// <summary>Accepted and handed on for delivery.</summary>
    Delivered,

    /// <summary>Accepted but held: Postfix's hold queue, Sendmail's quarantine queue.</summary>
    Quarantined,

    /// <summary>Accepted and silently dropped.</summary>
    Discarded,

    /// <summary>Refused with a 5xx reply (by the milter, or because no recipient was left).</summary>
    Rejected,

    /// <summary>Refused with a 4xx reply; the client will try again.</summary>
    TempFailed,
}
