using AotMilter.Configuration;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// Everything the daemon needs to run one filter, computed at compile time by the generator: its name, the
/// protocol options, actions and macros it needs, how to read its settings, and a factory for its dispatcher.
/// </summary>
public sealed class MilterRegistration
{
    private readonly Func<object?, FilterDispatcher> _create;
    private readonly Func<ConfigSection, object>? _parseSettings;

    /// <summary>A filter without settings.</summary>
    public MilterRegistration(string name, string? description, string typeName, ProtocolFlags protocol, ActionFlags actions, Func<FilterDispatcher> create)
        : this(name, description, typeName, protocol, actions, [], _ => create(), null)
    {
    }

    /// <summary>A filter with macro requests and, optionally, settings read from the configuration file.</summary>
    public MilterRegistration(string name, string? description, string typeName, ProtocolFlags protocol, ActionFlags actions,
        IReadOnlyList<MacroRequest> macros, Func<object?, FilterDispatcher> create, Func<ConfigSection, object>? parseSettings)
    {
        Name = name;
        Description = description ?? "";
        TypeName = typeName;
        Protocol = protocol;
        Actions = actions;
        Macros = macros;
        _create = create;
        _parseSettings = parseSettings;
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

    /// <summary>The macros the filter reads, per stage.</summary>
    public IReadOnlyList<MacroRequest> Macros { get; }

    /// <summary>True when the filter takes settings from the configuration file.</summary>
    public bool HasSettings => _parseSettings is not null;

    /// <summary>Reads the filter's settings from its section; errors are collected in the section.</summary>
    public object? ParseSettings(ConfigSection section) => _parseSettings?.Invoke(section);

    /// <summary>A dispatcher around a new filter instance, for one SMTP connection.</summary>
    public FilterDispatcher CreateDispatcher(object? settings = null) => _create(settings);

    public override string ToString() => Name;
}
