using System.Net;

namespace AotMilter.Filters.Policy;

/// <summary>What is known about the SMTP session when a rule is checked; null where not known (yet).</summary>
public sealed class PolicyFacts
{
    public IPAddress? ClientAddress { get; set; }

    /// <summary>The client's host name as the MTA reports it ("[address]" when it has none).</summary>
    public string ClientName { get; set; } = "";

    public string? Helo { get; set; }

    /// <summary>The envelope sender without angle brackets ("" for the null sender), once MAIL FROM was seen.</summary>
    public string? Sender { get; set; }

    /// <summary>The recipient being checked, without angle brackets.</summary>
    public string? Recipient { get; set; }

    /// <summary>The SMTP AUTH login name, or null when the client did not authenticate.</summary>
    public string? AuthUser { get; set; }

    /// <summary>Forgets the message's facts (a new MAIL FROM).</summary>
    public void NewMessage()
    {
        Sender = null;
        Recipient = null;
        AuthUser = null;
    }
}
