using System.Collections.Generic;

namespace AotMilter.Protocol;

/// <summary>
/// The macros Postfix and Sendmail send at each stage when their configuration does not name others: Postfix 3.x
/// <c>src/global/mail_params.h</c> (<c>DEF_MILT_*_MACROS</c>) and Sendmail 8.x <c>cf/README</c>
/// (<c>confMILTER_MACROS_*</c>). <c>aotmilter --print-config</c> adds the filter chain's macros to these lists, the
/// testing kit's MTA profiles send them, and the generator (which compiles this file in) warns about a macro read before
/// the first stage that sends it (AOTM018).
/// </summary>
/// <remarks>
/// Postfix also sends the end-of-headers set before each header and the end-of-message set before each body chunk.
/// Postfix lists <c>i</c> from MAIL FROM on but defines it only after the first accepted RCPT TO.
/// </remarks>
public static class MtaMacroDefaults
{
    private static readonly string[] s_none = [];
    private static readonly string[] s_queueId = ["i"];
    private static readonly string[] s_tls = ["{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"];

    private static readonly string[] s_postfixConnect = ["j", "{daemon_name}", "{daemon_addr}", "v", "_"];
    private static readonly string[] s_postfixMail = ["i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"];
    private static readonly string[] s_postfixRcpt = ["i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"];

    private static readonly string[] s_sendmailConnect = ["j", "_", "{daemon_name}", "{if_name}", "{if_addr}"];
    private static readonly string[] s_sendmailMail = ["i", "{auth_type}", "{auth_authen}", "{auth_ssf}", "{auth_author}", "{mail_mailer}", "{mail_host}", "{mail_addr}"];
    private static readonly string[] s_sendmailRcpt = ["{rcpt_mailer}", "{rcpt_host}", "{rcpt_addr}"];
    private static readonly string[] s_sendmailEndOfMessage = ["{msg_id}"];

    /// <summary>Postfix's <c>milter_*_macros</c> default for the stage, in its order.</summary>
    public static IReadOnlyList<string> Postfix(MacroStage stage) => stage switch
    {
        MacroStage.Connect => s_postfixConnect,
        MacroStage.Helo => s_tls,
        MacroStage.MailFrom => s_postfixMail,
        MacroStage.RcptTo => s_postfixRcpt,
        MacroStage.Data or MacroStage.EndOfHeaders or MacroStage.EndOfMessage => s_queueId,
        _ => s_none,
    };

    /// <summary>Sendmail's <c>confMILTER_MACROS_*</c> default for the stage, in its order.</summary>
    public static IReadOnlyList<string> Sendmail(MacroStage stage) => stage switch
    {
        MacroStage.Connect => s_sendmailConnect,
        MacroStage.Helo => s_tls,
        MacroStage.MailFrom => s_sendmailMail,
        MacroStage.RcptTo => s_sendmailRcpt,
        MacroStage.EndOfMessage => s_sendmailEndOfMessage,
        _ => s_none,
    };
}
