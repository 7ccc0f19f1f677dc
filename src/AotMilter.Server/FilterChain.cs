using System.Buffers.Binary;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The filters a daemon runs, in order, and the negotiation they need together.
/// <list type="bullet">
/// <item>Envelope events (connect, HELO, MAIL, RCPT, DATA, unknown) reach every filter as they happen.</item>
/// <item>Content events (headers, end of headers, body) reach the first filter as they happen; the chain keeps a copy
/// of the message, and at end of message each later filter is shown the headers and body with the earlier filters'
/// changes applied, then its own end of message: as if the MTA ran the filters one after the other.</item>
/// <item>The first verdict that is not continue wins; later filters are not asked.</item>
/// <item>An event is skipped only when no filter handles it; an envelope event goes without reply only when every
/// filter only observes it, a content event when the first filter only observes it (later filters answer at end
/// of message). Actions and macro requests are the union.</item>
/// </list>
/// <para>
/// The chain also holds each filter's current settings. <see cref="UpdateSettings"/> (a configuration reload)
/// swaps them as one snapshot: a connection gets its filter instances, and with them its settings, when it starts,
/// so connections in flight keep the settings they started with and new connections use the new ones.
/// </para>
/// </summary>
public sealed class FilterChain
{
    private const ProtocolFlags Capabilities = ProtocolFlags.Skip | ProtocolFlags.RejectedRecipients | ProtocolFlags.HeaderLeadingSpace;
    private const ProtocolFlags ContentNoReplies = ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyEndOfHeaders | ProtocolFlags.NoReplyBody;

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

        if (all.Length > 1)
        {
            // Only the first filter answers content events live; the others answer at end of message.
            ProtocolFlags first = all[0].Protocol;
            ProtocolFlags firstContentNoReply = (first & ContentNoReplies)
                | (HasSkip(first, ProtocolFlags.NoHeaders) ? ProtocolFlags.NoReplyHeader : 0)
                | (HasSkip(first, ProtocolFlags.NoEndOfHeaders) ? ProtocolFlags.NoReplyEndOfHeaders : 0)
                | (HasSkip(first, ProtocolFlags.NoBody) ? ProtocolFlags.NoReplyBody : 0);
            common = (common & ~ContentNoReplies) | firstContentNoReply;

            // SKIP would stop the body for every filter.
            capabilities &= ~ProtocolFlags.Skip;
        }

        Protocol = common | capabilities;
        Actions = actions;
        Macros = MergeMacros(all);
        SymbolLists = EncodeSymbolLists(Macros);
        _settings = settings is null ? DefaultSettings(all) : CheckedCopy(settings, all.Length);
    }

    public IReadOnlyList<MilterRegistration> Filters { get; }

    /// <summary>The protocol bits the chain asks the MTA for (before intersecting with what it offers).</summary>
    public ProtocolFlags Protocol { get; }

    /// <summary>The actions the chain needs.</summary>
    public ActionFlags Actions { get; }

    /// <summary>The macros the chain reads, per stage (the union of its filters').</summary>
    public IReadOnlyList<MacroRequest> Macros { get; }

    /// <summary>The symbol-list part of the negotiation reply (empty when no filter reads macros).</summary>
    public ReadOnlyMemory<byte> SymbolLists { get; }

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
        FilterDispatcher[] dispatchers = [];
        object?[] madeWith = [];
        CreateDispatchers(ref dispatchers, ref madeWith);
        return dispatchers;
    }

    /// <summary>
    /// Filter instances for one SMTP session, into <paramref name="dispatchers"/>: an instance of the previous session
    /// is kept when its filter resets it (<see cref="IResettableFilter"/>) and the settings it was made with are still
    /// current (<paramref name="madeWith"/> remembers them); every other one is new.
    /// </summary>
    public void CreateDispatchers(ref FilterDispatcher[] dispatchers, ref object?[] madeWith)
    {
        // One read of the snapshot, so a reload in the middle cannot give one connection settings of two files.
        object?[] settings = Volatile.Read(ref _settings);
        if (dispatchers.Length != Filters.Count)
        {
            dispatchers = new FilterDispatcher[Filters.Count];
            madeWith = new object?[Filters.Count];
        }

        for (int i = 0; i < dispatchers.Length; i++)
        {
            FilterDispatcher? previous = dispatchers[i];
            if (previous is not null && ReferenceEquals(madeWith[i], settings[i]) && TryReset(previous))
            {
                continue;
            }

            dispatchers[i] = Filters[i].CreateDispatcher(settings[i]);
            madeWith[i] = settings[i];
        }
    }

    // A filter whose reset throws simply gets a new instance: nothing is lost by not reusing it.
    private static bool TryReset(FilterDispatcher dispatcher)
    {
        try
        {
            return dispatcher.TryReset();
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static bool HasSkip(ProtocolFlags flags, ProtocolFlags skip) => (flags & skip) != 0;

    private static MacroRequest[] MergeMacros(MilterRegistration[] filters)
    {
        var byStage = new SortedDictionary<MacroStage, List<string>>();
        foreach (MilterRegistration filter in filters)
        {
            foreach (MacroRequest request in filter.Macros)
            {
                if (!byStage.TryGetValue(request.Stage, out List<string>? names))
                {
                    byStage[request.Stage] = names = [];
                }

                foreach (string name in request.Names)
                {
                    if (!names.Contains(name, StringComparer.Ordinal))
                    {
                        names.Add(name);
                    }
                }
            }
        }

        return byStage.Select(kv => new MacroRequest(kv.Key, kv.Value.ToArray())).ToArray();
    }

    private static byte[] EncodeSymbolLists(IReadOnlyList<MacroRequest> macros)
    {
        var bytes = new List<byte>();
        Span<byte> stage = stackalloc byte[4];
        foreach (MacroRequest request in macros)
        {
            BinaryPrimitives.WriteUInt32BigEndian(stage, (uint)request.Stage);
            bytes.AddRange(stage.ToArray());
            bytes.AddRange(Encoding.ASCII.GetBytes(string.Join(' ', request.Names)));
            bytes.Add(0);
        }

        return bytes.ToArray();
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
