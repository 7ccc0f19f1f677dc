namespace AotMilter;

/// <summary>
/// Lets the daemon reuse a filter instance for the next SMTP connection instead of constructing a new one (a filter
/// is otherwise new for every connection). With one milter connection per SMTP session, as Postfix makes, that is the
/// last allocation per message. The daemon calls <see cref="TryReset"/> only after the instance's close callback and
/// only when the filter's settings have not been reloaded since it was made.
/// </summary>
public interface IResettableFilter
{
    /// <summary>Puts the instance back to the state its constructor left it in; false: make a new one instead.</summary>
    bool TryReset();
}
