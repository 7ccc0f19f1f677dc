using AotMilter.Protocol;

namespace AotMilter.Generators;

/// <summary>
/// Macro names and stages: how a [Macro] name is written on the wire, at which stage a callback's macros are
/// requested, and the macros that no MTA sends before a given event (from <see cref="MtaMacroDefaults"/>).
/// </summary>
internal static class MacroTable
{
    // A message's stages in the order of a conversation. Connect and HELO macros are left out on purpose: they describe
    // the connection and may be there from its start (the TLS ones on an SMTPS connection), so they are never warned about.
    private static readonly (MacroStage Stage, MilterEvent Event)[] s_messageStages =
    [
        (MacroStage.MailFrom, MilterEvent.MailFrom),
        (MacroStage.RcptTo, MilterEvent.RcptTo),
        (MacroStage.Data, MilterEvent.Data),
        (MacroStage.EndOfHeaders, MilterEvent.EndOfHeaders),
        (MacroStage.EndOfMessage, MilterEvent.EndOfMessage),
    ];

    /// <summary>
    /// The stage whose macros a callback reads, as libmilter indexes them: header callbacks read the end-of-headers set,
    /// body callbacks the end-of-message set. Null for unknown-command, abort and close, which have no stage.
    /// </summary>
    public static MacroStage? StageOf(MilterEvent kind) => kind switch
    {
        MilterEvent.Connect => MacroStage.Connect,
        MilterEvent.Helo => MacroStage.Helo,
        MilterEvent.MailFrom => MacroStage.MailFrom,
        MilterEvent.RcptTo => MacroStage.RcptTo,
        MilterEvent.Data => MacroStage.Data,
        MilterEvent.Header or MilterEvent.EndOfHeaders => MacroStage.EndOfHeaders,
        MilterEvent.Body or MilterEvent.EndOfMessage => MacroStage.EndOfMessage,
        _ => null,
    };

    /// <summary>
    /// The first event with which some MTA sends the macro by default, and which MTAs do ("Sendmail's and Postfix's");
    /// false for a macro of the connection or one no MTA sends by default. <paramref name="name"/> is normalised.
    /// </summary>
    public static bool TryGetEarliest(string name, out MilterEvent earliest, out string senders)
    {
        earliest = default;
        senders = "";
        if (Sends(MacroStage.Connect, name) != "" || Sends(MacroStage.Helo, name) != "")
        {
            return false;
        }

        foreach ((MacroStage stage, MilterEvent e) in s_messageStages)
        {
            senders = Sends(stage, name);
            if (senders != "")
            {
                earliest = e;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// When the macro reaches a callback of <paramref name="kind"/> on one MTA but not on the other, the one it does not
    /// reach and why (<paramref name="missing"/> is "Sendmail" or "Postfix"); false otherwise, and for macros that one
    /// MTA's defaults never name (whether that MTA defines them cannot be told from its lists). <paramref name="requested"/>
    /// holds the filter's own [Macro] names per stage: a stage's request replaces that MTA's default list for the stage.
    /// </summary>
    public static bool TryGetOneSided(
        string name,
        MilterEvent kind,
        IReadOnlyDictionary<MacroStage, HashSet<string>> requested,
        out string missing,
        out string present,
        out MacroGap gap)
    {
        missing = present = "";
        gap = default;
        int position = StageOf(kind) is { } stage ? PositionOf(stage) : -1;
        if (position < 0 || !TryGetEarliest(name, out MilterEvent earliest, out _) || kind < earliest
            || FirstDefined(Mta.Sendmail, name) is not { } sendmailFirst || FirstDefined(Mta.Postfix, name) is not { } postfixFirst)
        {
            return false;
        }

        bool sendmail = Reaches(Mta.Sendmail, name, kind, position, sendmailFirst, requested);
        bool postfix = Reaches(Mta.Postfix, name, kind, position, postfixFirst, requested);
        if (sendmail == postfix)
        {
            return false;
        }

        Mta lacking = sendmail ? Mta.Postfix : Mta.Sendmail;
        MilterEvent first = sendmail ? postfixFirst : sendmailFirst;
        missing = lacking.ToString();
        present = (sendmail ? Mta.Sendmail : Mta.Postfix).ToString();
        if (kind < first)
        {
            gap = new MacroGap(first, Replaced: null);
            return true;
        }

        // Defined by then, but no stage that this MTA has sent so far carries it: a stage's list was replaced by the
        // filter's own request, or (Sendmail) the callback's own stage is sent after it.
        MilterEvent? replaced = null;
        for (int i = 0; i < position; i++)
        {
            (MacroStage earlier, MilterEvent e) = s_messageStages[i];
            if (requested.ContainsKey(earlier) && Contains(Defaults(lacking, earlier), name) && e >= first)
            {
                replaced = e;
                break;
            }
        }

        gap = new MacroGap(first, replaced);
        return true;
    }

    /// <summary>
    /// Whether the MTA has sent the macro by the time a callback of <paramref name="kind"/> runs: some stage up to the
    /// callback's carries it (the filter's request for that stage, else the MTA's default list) at or after the event
    /// from which the MTA defines it. Sendmail sends the end-of-headers and end-of-message lists with those commands,
    /// so its header and body callbacks see only the earlier stages; Postfix sends them before each header and each
    /// body chunk as well.
    /// </summary>
    private static bool Reaches(Mta mta, string name, MilterEvent kind, int position, MilterEvent first, IReadOnlyDictionary<MacroStage, HashSet<string>> requested)
    {
        int last = mta == Mta.Sendmail && kind is MilterEvent.Header or MilterEvent.Body ? position - 1 : position;
        for (int i = 0; i <= last; i++)
        {
            (MacroStage stage, MilterEvent e) = s_messageStages[i];
            bool listed = requested.TryGetValue(stage, out HashSet<string>? names) ? names.Contains(name) : Contains(Defaults(mta, stage), name);
            if (listed && e >= first)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The first message event with which the MTA defines the macro, from its default lists; null when they never name
    /// it. Postfix lists <c>i</c> from MAIL FROM on but has no queue id until it has accepted a recipient (see
    /// <see cref="MtaMacroDefaults"/>), so its <c>i</c> counts from DATA.
    /// </summary>
    private static MilterEvent? FirstDefined(Mta mta, string name)
    {
        if (mta == Mta.Postfix && name == PostfixLateQueueId)
        {
            return MilterEvent.Data;
        }

        foreach ((MacroStage stage, MilterEvent e) in s_messageStages)
        {
            if (Contains(Defaults(mta, stage), name))
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>The queue id macro, which Postfix defines only once it has accepted a recipient.</summary>
    public const string PostfixLateQueueId = "i";

    private static IReadOnlyList<string> Defaults(Mta mta, MacroStage stage)
        => mta == Mta.Sendmail ? MtaMacroDefaults.Sendmail(stage) : MtaMacroDefaults.Postfix(stage);

    private static int PositionOf(MacroStage stage)
    {
        for (int i = 0; i < s_messageStages.Length; i++)
        {
            if (s_messageStages[i].Stage == stage)
            {
                return i;
            }
        }

        return -1;
    }

    private enum Mta
    {
        Sendmail,
        Postfix,
    }

    private static string Sends(MacroStage stage, string name)
    {
        bool sendmail = Contains(MtaMacroDefaults.Sendmail(stage), name);
        bool postfix = Contains(MtaMacroDefaults.Postfix(stage), name);
        return sendmail && postfix ? "Sendmail's and Postfix's" : sendmail ? "Sendmail's" : postfix ? "Postfix's" : "";
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        foreach (string candidate in names)
        {
            if (candidate == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The wire form of a macro name: one-letter names bare ("i"), longer ones in braces ("{auth_authen}"), whether
    /// given with braces or not. Null when the name is empty or holds a space, a control character, a brace inside or
    /// a character outside ASCII (the MTA's symbol list is space-separated ASCII).
    /// </summary>
    public static string? Normalize(string? name)
    {
        if (name is null)
        {
            return null;
        }

        string inner = name.Length >= 2 && name[0] == '{' && name[name.Length - 1] == '}' ? name.Substring(1, name.Length - 2) : name;
        if (inner.Length == 0)
        {
            return null;
        }

        foreach (char c in inner)
        {
            if (c <= ' ' || c >= 0x7F || c == '{' || c == '}')
            {
                return null;
            }
        }

        return inner.Length == 1 ? inner : "{" + inner + "}";
    }
}

/// <summary>
/// Why a macro does not reach a callback on one MTA: that MTA defines it only from <paramref name="First"/> on, or it
/// does by then but no stage sent so far carries it; <paramref name="Replaced"/> is the earlier callback whose [Macro]
/// request replaced the MTA's default list that had it.
/// </summary>
internal readonly record struct MacroGap(MilterEvent First, MilterEvent? Replaced);
