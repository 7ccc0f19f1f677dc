using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The filters a daemon runs, in order, and the negotiation they need together: an event is skipped only if no
/// filter handles it, left without reply only if no filter can answer it, and the actions are the union.
/// </summary>
public sealed class FilterChain
{
    private const ProtocolFlags Capabilities = ProtocolFlags.Skip | ProtocolFlags.RejectedRecipients | ProtocolFlags.HeaderLeadingSpace;

    public FilterChain(IReadOnlyList<MilterRegistration> filters)
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
    }

    public IReadOnlyList<MilterRegistration> Filters { get; }

    /// <summary>The protocol bits the chain asks the MTA for (before intersecting with what it offers).</summary>
    public ProtocolFlags Protocol { get; }

    /// <summary>The actions the chain needs.</summary>
    public ActionFlags Actions { get; }

    public string Names => string.Join(",", Filters.Select(f => f.Name));

    /// <summary>New dispatchers (new filter instances) for one SMTP connection.</summary>
    public FilterDispatcher[] CreateDispatchers()
    {
        var dispatchers = new FilterDispatcher[Filters.Count];
        for (int i = 0; i < dispatchers.Length; i++)
        {
            dispatchers[i] = Filters[i].CreateDispatcher();
        }

        return dispatchers;
    }
}
