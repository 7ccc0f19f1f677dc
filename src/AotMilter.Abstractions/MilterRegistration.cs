using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// Everything the daemon needs to run one filter, computed at compile time by the generator: its name, the
/// protocol options and actions it needs, and a factory for its dispatcher.
/// </summary>
public sealed class MilterRegistration
{
    private readonly Func<FilterDispatcher> _create;

    public MilterRegistration(string name, string? description, string typeName, ProtocolFlags protocol, ActionFlags actions, Func<FilterDispatcher> create)
    {
        Name = name;
        Description = description ?? "";
        TypeName = typeName;
        Protocol = protocol;
        Actions = actions;
        _create = create;
    }

    /// <summary>The name used with <c>-f</c>.</summary>
    public string Name { get; }

    public string Description { get; }

    /// <summary>The filter's class, fully qualified.</summary>
    public string TypeName { get; }

    /// <summary>
    /// Protocol bits the filter wants: a skip bit for each event it does not handle, a no-reply bit for each event
    /// whose callback returns void, and the capabilities it uses.
    /// </summary>
    public ProtocolFlags Protocol { get; }

    /// <summary>The modifications the filter makes at end of message.</summary>
    public ActionFlags Actions { get; }

    /// <summary>A dispatcher around a new filter instance, for one SMTP connection.</summary>
    public FilterDispatcher CreateDispatcher() => _create();

    public override string ToString() => Name;
}
