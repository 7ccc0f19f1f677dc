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
/// </summary>
public sealed class FilterChain
{
    private const ProtocolFlags Capabilities = ProtocolFlags.Skip | ProtocolFlags.RejectedRecipients | ProtocolFlags.HeaderLeadingSpace;
    private const ProtocolFlags ContentNoReplies = ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyEndOfHeaders | ProtocolFlags.NoReplyBody;

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
}
