using AotMilter.Generators.Model;
using AotMilter.Protocol;

namespace AotMilter.Generators;

/// <summary>
/// Macro names and stages: how a [Macro] name is written on the wire, at which stage a callback's macros are
/// requested, and the macros that no MTA defines before a given event.
/// </summary>
/// <remarks>
/// Sources (shared/docs/milter-reference.md §1.6, read from sendmail 8.18 <c>cf/README</c> and <c>libmilter</c>,
/// and Postfix 3.12 <c>src/global/mail_params.h</c> and <c>README_FILES/MILTER_README</c>): Sendmail sends
/// <c>i {auth_type} {auth_authen} {auth_ssf} {auth_author} {mail_mailer} {mail_host} {mail_addr}</c> at MAIL FROM,
/// <c>{rcpt_mailer} {rcpt_host} {rcpt_addr}</c> at RCPT TO and <c>{msg_id}</c> at end of message; Postfix sends the
/// same MAIL FROM and RCPT TO lists (without <c>{auth_ssf}</c>) and defines <c>i</c> (the queue id) only after the
/// first accepted RCPT TO. Only macros whose earliest stage is certain are listed; any other name (including the TLS
/// macros, which an SMTPS connection has from the start) is never warned about.
/// </remarks>
internal static class MacroTable
{
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
    /// The first event at which some MTA defines the macro, and why; false for macros that may be there from the start
    /// (or that the table does not know). <paramref name="name"/> is normalised.
    /// </summary>
    public static bool TryGetEarliest(string name, out MilterEvent earliest, out string reason)
    {
        switch (name)
        {
            case "i":
                earliest = MilterEvent.MailFrom;
                reason = "Sendmail sets the queue id at MAIL FROM, Postfix only after the first accepted RCPT TO";
                return true;
            case "{mail_addr}" or "{mail_host}" or "{mail_mailer}":
                earliest = MilterEvent.MailFrom;
                reason = "it describes the sender, which MAIL FROM gives";
                return true;
            case "{auth_type}" or "{auth_authen}" or "{auth_ssf}" or "{auth_author}":
                earliest = MilterEvent.MailFrom;
                reason = "Sendmail and Postfix send the SMTP AUTH macros with MAIL FROM";
                return true;
            case "{rcpt_addr}" or "{rcpt_host}" or "{rcpt_mailer}":
                earliest = MilterEvent.RcptTo;
                reason = "it describes the recipient, which RCPT TO gives";
                return true;
            case "{msg_id}":
                earliest = MilterEvent.EndOfMessage;
                reason = "Sendmail sets it from the Message-Id header at end of message";
                return true;
            default:
                earliest = default;
                reason = "";
                return false;
        }
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
