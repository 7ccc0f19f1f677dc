using AotMilter.Filters.Matching;
using AotMilter.Filters.Policy;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters;

/// <summary>
/// Who may send: allow and deny rules on the client (IP networks, host names), the HELO name, the envelope sender,
/// each recipient and the SMTP AUTH login, each with its verdict and the stage it acts at. Rules of one stage are
/// checked in file order and the first that matches decides; <c>allow</c> ends the policy checks for the connection
/// (at connect or HELO), the message (at MAIL or DATA) or the recipient (at RCPT).
/// </summary>
[Milter("policy", Description = "Sender, recipient, client and HELO allow/deny rules with their replies")]
public sealed class PolicyFilter
{
    private readonly PolicySettings _settings;
    private readonly PolicyFacts _facts = new();
    private bool _connectionAllowed;
    private bool _messageAllowed;

    public PolicyFilter(PolicySettings settings) => _settings = settings;

    [OnConnect]
    public Verdict Connect(ConnectInfo client, MilterContext context)
    {
        _facts.ClientAddress = IpNetwork.ParseClient(client.Address.Bytes);
        _facts.ClientName = client.HostNameString();
        return Check(PolicyStage.Connect, context);
    }

    [OnHelo]
    public Verdict Helo(string name, MilterContext context)
    {
        _facts.Helo = name;
        return Check(PolicyStage.Helo, context);
    }

    [OnMailFrom]
    public Verdict MailFrom(string sender, [Macro("{auth_authen}")] string? login, MilterContext context)
    {
        _facts.NewMessage();
        _messageAllowed = false;
        _facts.Sender = sender;

        // The SMTP AUTH login comes with MAIL FROM; empty or absent when the client did not authenticate.
        _facts.AuthUser = string.IsNullOrEmpty(login) ? null : login;
        return Check(PolicyStage.Mail, context);
    }

    [OnRcptTo]
    public Verdict RcptTo(string recipient, MilterContext context)
    {
        _facts.Recipient = recipient;
        return Check(PolicyStage.Rcpt, context);
    }

    [OnData]
    public Verdict Data(MilterContext context) => Check(PolicyStage.Data, context);

    private Verdict Check(PolicyStage stage, MilterContext context)
    {
        foreach (PolicyRule rule in _settings.Rules)
        {
            if (_connectionAllowed || (_messageAllowed && stage >= PolicyStage.Mail))
            {
                break;
            }

            if (rule.Stage != stage || !rule.IsMatch(_facts))
            {
                continue;
            }

            PolicyLog.Matched(context.Logger, context.ConnectionId, rule.Source, rule.Action, stage, Describe(rule.Subject));
            switch (rule.Action)
            {
                case PolicyAction.Allow:
                    if (stage <= PolicyStage.Helo)
                    {
                        _connectionAllowed = true;
                    }
                    else if (stage != PolicyStage.Rcpt)
                    {
                        _messageAllowed = true;
                    }

                    // An allowed recipient is simply not checked further; the next recipient starts again.
                    return Verdict.Continue;
                case PolicyAction.Accept:
                    return Verdict.Accept;
                case PolicyAction.Discard:
                    return Verdict.Discard;
                case PolicyAction.TempFail:
                    return Verdict.TempFailWith(rule.Reply!);
                default:
                    return Verdict.RejectWith(rule.Reply!);
            }
        }

        return Verdict.Continue;
    }

    private string Describe(PolicySubject subject) => subject switch
    {
        PolicySubject.Client => $"{LogText.Escape(_facts.ClientName)} [{_facts.ClientAddress}]",
        PolicySubject.Helo => LogText.Escape(_facts.Helo),
        PolicySubject.Sender => $"<{LogText.Escape(_facts.Sender)}>",
        PolicySubject.Recipient => $"<{LogText.Escape(_facts.Recipient)}>",
        _ => LogText.Escape(_facts.AuthUser),
    };
}
