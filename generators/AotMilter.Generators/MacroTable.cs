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
