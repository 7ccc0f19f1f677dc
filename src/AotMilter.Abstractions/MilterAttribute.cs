namespace AotMilter;

/// <summary>
/// Marks a class as a filter. The source generator turns it into a dispatcher and a registration, so
/// <c>aotmilter -f NAME</c> can run it with no reflection. The class needs a public or internal constructor that takes
/// either nothing or only its settings (a type <c>T</c> implementing
/// <see cref="Configuration.IFilterSettings{TSelf}"/>): one instance serves one SMTP connection, so fields may hold
/// per-connection state.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class MilterAttribute : Attribute
{
    public MilterAttribute(string name) => Name = name;

    /// <summary>The name used with <c>-f NAME</c>: lower case letters, digits, '-' and '_'.</summary>
    public string Name { get; }

    /// <summary>One line shown by <c>--list-filters</c>.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// Also call the RCPT TO callback for recipients the MTA itself rejected (SMFIP_RCPT_REJ). For those, the macro
    /// <c>{rcpt_mailer}</c> is <c>error</c>, <c>{rcpt_host}</c> the enhanced status code and <c>{rcpt_addr}</c> the
    /// reply text. Needs an [OnRcptTo] callback.
    /// </summary>
    public bool RejectedRecipients { get; set; }

    /// <summary>
    /// Header values arrive exactly as sent, with the space after the colon (SMFIP_HDR_LEADSPC); header values the
    /// filter adds or changes are then sent as given, so they should start with a space.
    /// </summary>
    public bool RawHeaderValues { get; set; }
}
