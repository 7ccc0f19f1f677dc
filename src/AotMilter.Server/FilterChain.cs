using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The filters a daemon runs, in order, and the negotiation they need together: an event is skipped only if no
/// filter handles it, left without reply only if no filter can answer it, and the actions are the union.
/// <para>
/// The chain also holds each filter's current settings. <see cref="UpdateSettings"/> (a configuration reload)
/// swaps them as one snapshot: a connection gets its filter instances, and with them its settings, when it starts,
/// so connections in flight keep the settings they started with and new connections use the new ones.
/// </para>
/// </summary>
public sealed class FilterChain
{
    private const ProtocolFlags Capabilities = ProtocolFlags.Skip | ProtocolFlags.RejectedRecipients | ProtocolFlags.HeaderLeadingSpace;

    private object?[] _settings;

    /// <summary>A chain with the given settings (one per filter, null for filters without settings), or each filter's defaults.</summary>
    /// <exception cref="ArgumentException">No filters, or a settings list of another length.</exception>
    public FilterChain(IReadOnlyList<MilterRegistration> filters, IReadOnlyList<object?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count == 0)
        {
            throw new ArgumentException("a filter chain needs at least one filter", nameof(filters));
        }

        MilterRegistration[] all = filters.ToArray();
        Filters = all;
        ProtocolFlags common = ProtocolFlags.AllSkips | ProtocolFlags.AllNoReplies;
        ProtocolFlags capabilities = ProtocolFlags.None;
        ActionFlags actions = ActionFlags.None;
        foreach (MilterRegistration filter in all)
        {
            common &= filter.Protocol;
            capabilities |= filter.Protocol & Capabilities;
            actions |= filter.Actions;
        }

        // SKIP stops the body for every filter, so a chain may only use it when it has one filter.
        if (all.Length > 1)
        {
            capabilities &= ~ProtocolFlags.Skip;
        }

        Protocol = common | capabilities;
        Actions = actions;
        _settings = settings is null ? DefaultSettings(all) : CheckedCopy(settings, all.Length);
    }

    public IReadOnlyList<MilterRegistration> Filters { get; }

    /// <summary>The protocol bits the chain asks the MTA for (before intersecting with what it offers).</summary>
    public ProtocolFlags Protocol { get; }

    /// <summary>The actions the chain needs.</summary>
    public ActionFlags Actions { get; }

    public string Names => string.Join(",", Filters.Select(f => f.Name));

    /// <summary>The settings new connections get, one per filter (null for a filter without settings).</summary>
    public IReadOnlyList<object?> Settings => Volatile.Read(ref _settings);

    /// <summary>Makes <paramref name="settings"/> (one per filter, as parsed by each registration) current for new connections.</summary>
    /// <exception cref="ArgumentException">The list does not have one entry per filter.</exception>
    public void UpdateSettings(IReadOnlyList<object?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Volatile.Write(ref _settings, CheckedCopy(settings, Filters.Count));
    }

    /// <summary>New dispatchers (new filter instances, with the current settings) for one SMTP connection.</summary>
    public FilterDispatcher[] CreateDispatchers()
    {
        // One read of the snapshot, so a reload in the middle cannot give one connection settings of two files.
        object?[] settings = Volatile.Read(ref _settings);
        var dispatchers = new FilterDispatcher[Filters.Count];
        for (int i = 0; i < dispatchers.Length; i++)
        {
            dispatchers[i] = Filters[i].CreateDispatcher(settings[i]);
        }

        return dispatchers;
    }

    private static object?[] DefaultSettings(MilterRegistration[] filters)
    {
        var settings = new object?[filters.Length];
        for (int i = 0; i < filters.Length; i++)
        {
            if (filters[i].HasSettings)
            {
                settings[i] = filters[i].ParseSettings(AotMilter.Configuration.ConfigSection.Empty(filters[i].Name));
            }
        }

        return settings;
    }

    private static object?[] CheckedCopy(IReadOnlyList<object?> settings, int count)
    {
        if (settings.Count != count)
        {
            throw new ArgumentException($"the chain has {count} filters but {settings.Count} settings were given", nameof(settings));
        }

        return settings.ToArray();
    }
}
