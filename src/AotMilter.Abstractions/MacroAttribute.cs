namespace AotMilter;

/// <summary>
/// Binds a callback parameter to the value of an MTA macro, and makes the generator ask the MTA to send that macro
/// at the callback's stage. The name may be written <c>"i"</c>, <c>"auth_authen"</c> or <c>"{auth_authen}"</c>
/// (one-letter names are sent bare, longer ones in braces, as Sendmail writes them).
/// <para>
/// The parameter is <c>ReadOnlySpan&lt;byte&gt;</c> (synchronous callbacks only; empty when the MTA did not send the
/// macro) or <c>string?</c> (null when absent; a non-nullable <c>string</c> gets "" instead). Connect, HELO,
/// MAIL FROM, RCPT TO, DATA, header, end-of-headers, body and end-of-message callbacks can read macros; unknown-command,
/// abort and close callbacks cannot.
/// </para>
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class MacroAttribute : Attribute
{
    public MacroAttribute(string name) => Name = name;

    /// <summary>The macro's name, as given.</summary>
    public string Name { get; }
}
