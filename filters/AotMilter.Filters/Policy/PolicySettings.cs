using AotMilter.Configuration;
using AotMilter.Filters.Matching;

namespace AotMilter.Filters.Policy;

/// <summary>
/// The policy filter's rules, in file order. Each line is <c>SUBJECT = ACTION PATTERN... [reply="..."] [at=STAGE]
/// [auth=yes|no]</c>, for example
/// <code>
/// client    = allow 127.0.0.0/8 ::1 10.0.0.0/8
/// client    = reject 192.0.2.0/24 2001:db8:bad::/48 reply="554 5.7.1 Your network is blocked"
/// helo      = reject localhost *.invalid /^\d+\.\d+\.\d+\.\d+$/
/// auth      = allow *
/// sender    = reject @example.com auth=no reply="550 5.7.1 Log in to send as example.com"
/// recipient = discard blackhole@example.com
/// </code>
/// </summary>
public sealed class PolicySettings : IFilterSettings<PolicySettings>
{
    private static readonly Dictionary<string, PolicySubject> Subjects = new(StringComparer.OrdinalIgnoreCase)
    {
        ["client"] = PolicySubject.Client,
        ["helo"] = PolicySubject.Helo,
        ["sender"] = PolicySubject.Sender,
        ["recipient"] = PolicySubject.Recipient,
        ["auth"] = PolicySubject.Auth,
    };

    private static readonly string[] Keys = [.. Subjects.Keys];

    /// <summary>No rules: the filter lets everything through.</summary>
    public static PolicySettings Default { get; } = new();

    public IReadOnlyList<PolicyRule> Rules { get; init; } = [];

    public static PolicySettings Parse(ConfigSection section) =>
        new() { Rules = RuleEntries.Parse(section, Keys, Subjects, ParseRule) };

    private static PolicyRule? ParseRule(ConfigSection section, ConfigEntry entry, PolicySubject subject)
    {
        List<ConfigWord> words = ConfigWords.Split(section, entry);
        if (words.Count == 0)
        {
            section.Error(entry, "expected an action (allow, accept, reject, tempfail, discard) and at least one pattern");
            return null;
        }

        PolicyAction? action = words[0].Kind != ConfigWordKind.Plain ? null : words[0].Text.ToLowerInvariant() switch
        {
            "allow" or "permit" or "ok" => PolicyAction.Allow,
            "accept" => PolicyAction.Accept,
            "reject" or "deny" => PolicyAction.Reject,
            "tempfail" or "defer" => PolicyAction.TempFail,
            "discard" => PolicyAction.Discard,
            _ => null,
        };
        if (action is not PolicyAction verdict)
        {
            section.Error(entry, $"'{words[0]}' is not an action; write allow, accept, reject, tempfail or discard first");
            return null;
        }

        PolicyStage earliest = subject switch
        {
            PolicySubject.Client => PolicyStage.Connect,
            PolicySubject.Helo => PolicyStage.Helo,
            PolicySubject.Recipient => PolicyStage.Rcpt,
            _ => PolicyStage.Mail,
        };

        // There is no message to discard before MAIL FROM.
        PolicyStage stage = verdict == PolicyAction.Discard && earliest < PolicyStage.Mail ? PolicyStage.Mail : earliest;
        string? replyText = null;
        bool? requiresAuth = null;
        var patterns = new List<ConfigWord>();
        foreach (ConfigWord word in words.Skip(1))
        {
            if (word.IsOption("reply", out string reply))
            {
                replyText = reply;
            }
            else if (word.IsOption("at", out string at))
            {
                PolicyStage? named = at.ToLowerInvariant() switch
                {
                    "connect" => PolicyStage.Connect,
                    "helo" or "ehlo" => PolicyStage.Helo,
                    "mail" or "mail-from" => PolicyStage.Mail,
                    "rcpt" or "rcpt-to" or "recipient" => PolicyStage.Rcpt,
                    "data" => PolicyStage.Data,
                    _ => null,
                };
                if (named is not PolicyStage n)
                {
                    section.Error(entry, $"at={at}: the stages are connect, helo, mail, rcpt and data");
                }
                else if (n < earliest)
                {
                    section.Error(entry, $"at={at}: a {subject.ToString().ToLowerInvariant()} rule cannot act before {earliest.ToString().ToLowerInvariant()}, when its subject becomes known");
                }
                else if (subject == PolicySubject.Recipient && n != PolicyStage.Rcpt)
                {
                    section.Error(entry, $"at={at}: recipient rules act at rcpt, once per recipient");
                }
                else if (verdict == PolicyAction.Discard && n < PolicyStage.Mail)
                {
                    section.Error(entry, $"at={at}: discard drops a message, and there is none before mail");
                }
                else
                {
                    stage = n;
                }
            }
            else if (word.IsOption("auth", out string auth))
            {
                if (ConfigValues.TryParseBool(auth, out bool yes))
                {
                    requiresAuth = yes;
                }
                else
                {
                    section.Error(entry, $"auth={auth}: write auth=yes (only authenticated clients) or auth=no (only the others)");
                }
            }
            else
            {
                patterns.Add(word);
            }
        }

        patterns = PatternWords.Expand(section, entry, patterns);
        if (patterns.Count == 0)
        {
            section.Error(entry, "the rule has no pattern to match");
            return null;
        }

        var networks = new List<IpNetwork>();
        var names = new List<NamePattern>();
        var addresses = new List<AddressPattern>();
        foreach (ConfigWord word in patterns)
        {
            string? error;
            switch (subject)
            {
                case PolicySubject.Client when word.Kind != ConfigWordKind.Regex && LooksLikeAddress(word.Text):
                    if (IpNetwork.TryParse(word.Text, out IpNetwork? network, out error))
                    {
                        networks.Add(network!);
                    }
                    else
                    {
                        section.Error(entry, error!);
                    }

                    break;
                case PolicySubject.Client or PolicySubject.Helo or PolicySubject.Auth:
                    if (NamePattern.TryCreate(word, out NamePattern? name, out error))
                    {
                        names.Add(name!);
                    }
                    else
                    {
                        section.Error(entry, error!);
                    }

                    break;
                default:
                    if (AddressPattern.TryCreate(word, out AddressPattern? address, out error))
                    {
                        addresses.Add(address!);
                    }
                    else
                    {
                        section.Error(entry, error!);
                    }

                    break;
            }
        }

        SmtpReply? replyValue = null;
        if (verdict is PolicyAction.Reject or PolicyAction.TempFail)
        {
            bool transient = verdict == PolicyAction.TempFail;
            SmtpReply fallback = DefaultReply(subject, transient);
            replyValue = replyText is null ? fallback : ConfigValues.ParseReply(section, entry, replyText, fallback, transient);
        }
        else if (replyText is not null)
        {
            section.Error(entry, $"reply= goes with reject or tempfail, not {verdict.ToString().ToLowerInvariant()}");
        }

        return new PolicyRule
        {
            Subject = subject,
            Action = verdict,
            Stage = stage,
            Reply = replyValue,
            RequiresAuth = requiresAuth,
            Networks = networks,
            Names = names,
            Addresses = addresses,
            Source = $"{section.Name}.{entry.Key} ({Path.GetFileName(entry.File)}:{entry.Line})",
        };
    }

    /// <summary>An IP address or network rather than a host name: has ':' or is made of digits, dots and a prefix.</summary>
    private static bool LooksLikeAddress(string text)
        => text.Contains(':', StringComparison.Ordinal) || (text.Length > 0 && text.All(c => char.IsAsciiDigit(c) || c is '.' or '/'));

    private static SmtpReply DefaultReply(PolicySubject subject, bool transient) => (subject, transient) switch
    {
        (PolicySubject.Client, false) => Replies.ClientRejected,
        (PolicySubject.Client, true) => Replies.ClientDeferred,
        (PolicySubject.Helo, false) => Replies.HeloRejected,
        (PolicySubject.Helo, true) => Replies.HeloDeferred,
        (PolicySubject.Recipient, false) => Replies.RecipientRejected,
        (PolicySubject.Recipient, true) => Replies.RecipientDeferred,
        (_, false) => Replies.SenderRejected,
        (_, true) => Replies.SenderDeferred,
    };

    private static class Replies
    {
        public static readonly SmtpReply ClientRejected = SmtpReply.Create(554, "5.7.1", "Client host rejected: access denied");
        public static readonly SmtpReply ClientDeferred = SmtpReply.Create(450, "4.7.1", "Client host temporarily rejected: try again later");
        public static readonly SmtpReply HeloRejected = SmtpReply.Create(550, "5.7.1", "HELO name rejected: access denied");
        public static readonly SmtpReply HeloDeferred = SmtpReply.Create(450, "4.7.1", "HELO name temporarily rejected: try again later");
        public static readonly SmtpReply SenderRejected = SmtpReply.Create(550, "5.7.1", "Sender address rejected: access denied");
        public static readonly SmtpReply SenderDeferred = SmtpReply.Create(450, "4.7.1", "Sender address temporarily rejected: try again later");
        public static readonly SmtpReply RecipientRejected = SmtpReply.Create(550, "5.7.1", "Recipient address rejected: access denied");
        public static readonly SmtpReply RecipientDeferred = SmtpReply.Create(450, "4.7.1", "Recipient address temporarily rejected: try again later");
    }
}
