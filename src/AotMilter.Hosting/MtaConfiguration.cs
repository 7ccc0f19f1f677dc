using System.Text;
using AotMilter.Protocol;
using AotMilter.Server;

namespace AotMilter.Hosting;

/// <summary>
/// <c>--print-config postfix|sendmail</c>: the MTA configuration that matches this command line — the socket in the
/// MTA's own syntax, a safe failure policy, and macro lists that include every macro the filter chain reads.
/// </summary>
internal static class MtaConfiguration
{
    // The MTAs' directives per stage. Printed lists are each MTA's defaults (MtaMacroDefaults) plus the chain's, so
    // enabling a filter never takes a macro away from another milter on the same MTA.
    private static readonly (MacroStage Stage, string Postfix, string Sendmail)[] Stages =
    [
        (MacroStage.Connect, "milter_connect_macros", "confMILTER_MACROS_CONNECT"),
        (MacroStage.Helo, "milter_helo_macros", "confMILTER_MACROS_HELO"),
        (MacroStage.MailFrom, "milter_mail_macros", "confMILTER_MACROS_ENVFROM"),
        (MacroStage.RcptTo, "milter_rcpt_macros", "confMILTER_MACROS_ENVRCPT"),
        (MacroStage.Data, "milter_data_macros", "confMILTER_MACROS_DATA"),
        (MacroStage.EndOfHeaders, "milter_end_of_header_macros", "confMILTER_MACROS_EOH"),
        (MacroStage.EndOfMessage, "milter_end_of_data_macros", "confMILTER_MACROS_EOM"),
    ];

    public static string Render(string mta, SocketSpec socket, FilterChain chain, VerdictKind fallback, string commandLine)
    {
        var text = new StringBuilder();
        if (mta == "postfix")
        {
            text.AppendLine($"# Postfix main.cf for: {commandLine}");
            text.AppendLine("# (with smtpd chrooted, as Debian's master.cf has it, a unix socket path is relative to the queue directory)");
            text.AppendLine($"smtpd_milters = {socket.ToPostfixSyntax()}");
            text.AppendLine("non_smtpd_milters = $smtpd_milters");
            text.AppendLine("milter_protocol = 6");
            text.AppendLine($"milter_default_action = {PostfixAction(fallback)}");
            foreach (var s in Stages)
            {
                if (Requested(chain, s.Stage) is { Count: > 0 } names)
                {
                    text.AppendLine($"{s.Postfix} = {Merge(MtaMacroDefaults.Postfix(s.Stage), names, " ")}");
                }
            }
        }
        else
        {
            text.AppendLine($"dnl sendmail.mc for: {commandLine}");
            string flag = SendmailFlag(fallback);
            text.AppendLine($"INPUT_MAIL_FILTER(`aotmilter', `S={socket.ToSendmailSyntax()}, {(flag.Length > 0 ? $"F={flag}, " : "")}T=C:30s;S:30s;R:1m;E:5m')dnl");
            foreach (var s in Stages)
            {
                if (Requested(chain, s.Stage) is { Count: > 0 } names)
                {
                    text.AppendLine($"define(`{s.Sendmail}', `{Merge(MtaMacroDefaults.Sendmail(s.Stage), names, ", ")}')dnl");
                }
            }
        }

        return text.ToString();
    }

    private static List<string> Requested(FilterChain chain, MacroStage stage)
        => chain.Macros.Where(m => m.Stage == stage).SelectMany(m => m.Names).ToList();

    private static string Merge(IReadOnlyList<string> defaults, List<string> names, string separator)
    {
        var all = defaults.ToList();
        foreach (string name in names)
        {
            if (!all.Contains(name, StringComparer.Ordinal))
            {
                all.Add(name);
            }
        }

        return string.Join(separator, all);
    }

    // What the MTA should do when the milter is unreachable: the same as what the daemon does when a filter fails.
    private static string PostfixAction(VerdictKind fallback) => fallback switch
    {
        VerdictKind.Reject => "reject",
        VerdictKind.Accept or VerdictKind.Continue => "accept",
        _ => "tempfail",
    };

    private static string SendmailFlag(VerdictKind fallback) => fallback switch
    {
        VerdictKind.Reject => "R",
        VerdictKind.Accept or VerdictKind.Continue => "",
        _ => "T",
    };
}
