using AotMilter.Configuration;
using AotMilter.Filters.Matching;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Rules;

/// <summary>
/// Content rules, checked in file order:
/// <code>
/// [rules]
/// header = Subject /\bviagra\b/i reject "550 5.7.1 No spam here"
/// header = X-Spam-Flag YES quarantine "flagged by the upstream scanner" add-header X-Held yes
/// header = * "&lt;script" discard
/// body = "quarterly results" redirect legal@example.com
/// body = /\b\d{4}([ -]?\d{4}){3}\b/ tempfail "450 4.7.1 Possible card number, held for review"
/// body = unsubscribe prefix-subject "[BULK] "
/// header = From @partner.example bcc archive@example.com
/// header = To old-list@example.com change-sender lists@example.com
/// max-body-scan = 1M
/// max-mime-parts = 500
/// over-limits = quarantine "MIME structure too complex to scan"
/// </code>
/// A header rule is <c>NAME PATTERN ACTIONS...</c> (NAME may use wildcards; * is any header), a body rule
/// <c>PATTERN ACTIONS...</c>. A pattern is a literal (found anywhere, ignoring case; quote it when it has spaces), a
/// /regex/flags (linear-time engine), or * (anything). Actions: <c>reject [REPLY]</c>, <c>tempfail [REPLY]</c>,
/// <c>discard</c>, <c>quarantine REASON</c>, <c>add-header NAME VALUE</c>, <c>prefix-subject TEXT</c>,
/// <c>redirect ADDRESS...</c>, <c>change-sender ADDRESS</c>, <c>bcc ADDRESS...</c>.
/// <para>
/// Body rules read the first <c>max-body-scan</c> bytes of the body, parsed within <see cref="MimeLimits"/>
/// (<c>max-mime-parts</c>, <c>max-part-header-fields</c>, <c>max-part-header-size</c>). A message beyond a MIME limit
/// has its body rules checked on the parts before the limit, and gets the <c>over-limits</c> actions (the same
/// actions as a rule's; none by default, so it passes).
/// </para>
/// </summary>
public sealed class RulesSettings : IFilterSettings<RulesSettings>
{
    public static readonly SmtpReply DefaultRejectReply = SmtpReply.Create(550, "5.7.1", "Message content rejected");
    public static readonly SmtpReply DefaultTempFailReply = SmtpReply.Create(451, "4.7.1", "Message content deferred, try again later");

    private static readonly string[] Keys = ["header", "body", "max-body-scan", "over-limits", .. MimeLimits.Keys];

    public IReadOnlyList<ContentRule> HeaderRules { get; init; } = [];

    public IReadOnlyList<ContentRule> BodyRules { get; init; } = [];

    /// <summary>How much of the body is kept for body rules; the rest is not looked at.</summary>
    public long MaxBodyScan { get; init; } = 1L << 20;

    /// <summary>How much MIME structure body rules read.</summary>
    public MimeLimits Limits { get; init; } = MimeLimits.Default;

    /// <summary>What happens to a message beyond <see cref="Limits"/> (a rule without a pattern), or null: nothing.</summary>
    public ContentRule? OverLimits { get; init; }

    public static RulesSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        var headers = new List<ContentRule>();
        var bodies = new List<ContentRule>();
        foreach (ConfigEntry entry in section.Entries)
        {
            bool isHeader = entry.Key.Equals("header", StringComparison.OrdinalIgnoreCase);
            if ((isHeader || entry.Key.Equals("body", StringComparison.OrdinalIgnoreCase)) && ParseRule(section, entry, isHeader) is ContentRule rule)
            {
                (isHeader ? headers : bodies).Add(rule);
            }
        }

        ContentRule? overLimits = null;
        if (section.Get("over-limits") is ConfigEntry overEntry)
        {
            List<ConfigWord> words = ConfigWords.Split(section, overEntry);
            int i = 0;
            if (ParseActions(section, overEntry, words, ref i) is List<RuleAction> actions)
            {
                overLimits = new ContentRule { Pattern = TextPattern.Anything, Actions = actions, Source = SourceOf(section, overEntry) };
            }
        }

        return new RulesSettings
        {
            HeaderRules = headers,
            BodyRules = bodies,
            MaxBodyScan = section.ReadSize("max-body-scan", 1L << 20, 1024, 64L << 20),
            Limits = MimeLimits.Read(section),
            OverLimits = overLimits,
        };
    }

    private static ContentRule? ParseRule(ConfigSection section, ConfigEntry entry, bool isHeader)
    {
        List<ConfigWord> words = ConfigWords.Split(section, entry);
        int i = 0;
        NamePattern? name = null;
        if (isHeader)
        {
            if (words.Count == 0 || !NamePattern.TryCreate(words[0], out name, out string? nameError))
            {
                section.Error(entry, words.Count == 0 ? "write header = NAME PATTERN ACTION..." : "bad header name pattern");
                return null;
            }

            i = 1;
        }

        if (i >= words.Count)
        {
            section.Error(entry, $"write {(isHeader ? "header = NAME PATTERN" : "body = PATTERN")} ACTION...; the pattern is missing");
            return null;
        }

        if (!TextPattern.TryCreate(words[i], out TextPattern? pattern, out string? error))
        {
            section.Error(entry, error!);
            return null;
        }

        i++;
        if (ParseActions(section, entry, words, ref i) is not List<RuleAction> actions)
        {
            return null;
        }

        return new ContentRule
        {
            HeaderName = name,
            Pattern = pattern!,
            Actions = actions,
            Source = SourceOf(section, entry),
        };
    }

    private static string SourceOf(ConfigSection section, ConfigEntry entry) => $"{section.Name}.{entry.Key} ({Path.GetFileName(entry.File)}:{entry.Line})";

    /// <summary>The actions from word <paramref name="i"/> on (at least one, at most one that ends the message), or null (reported).</summary>
    private static List<RuleAction>? ParseActions(ConfigSection section, ConfigEntry entry, List<ConfigWord> words, ref int i)
    {
        var actions = new List<RuleAction>();
        while (i < words.Count)
        {
            ConfigWord word = words[i++];
            if (word.Kind != ConfigWordKind.Plain)
            {
                section.Error(entry, $"expected an action, found {word}; actions are reject, tempfail, discard, quarantine, add-header, prefix-subject, redirect, change-sender, bcc");
                return null;
            }

            switch (word.Text.ToLowerInvariant())
            {
                case "reject" or "tempfail":
                {
                    bool transient = word.Is("tempfail");
                    SmtpReply fallback = transient ? DefaultTempFailReply : DefaultRejectReply;
                    SmtpReply reply = fallback;
                    if (i < words.Count && (words[i].IsOption("reply", out string replyText) || (words[i].Kind == ConfigWordKind.Quoted && StartsWithCode(replyText = words[i].Text))))
                    {
                        reply = ConfigValues.ParseReply(section, entry, replyText, fallback, transient);
                        i++;
                    }

                    actions.Add(new RuleAction(transient ? RuleActionKind.TempFail : RuleActionKind.Reject, Reply: reply));
                    break;
                }

                case "discard":
                    actions.Add(new RuleAction(RuleActionKind.Discard));
                    break;
                case "quarantine":
                    if (!TakeText(words, ref i, out string reason) || reason.Contains('\n', StringComparison.Ordinal))
                    {
                        section.Error(entry, "quarantine needs a reason of one line: quarantine \"why\"");
                        return null;
                    }

                    actions.Add(new RuleAction(RuleActionKind.Quarantine, Text: reason));
                    break;
                case "add-header":
                    if (!TakeText(words, ref i, out string headerName) || !TakeText(words, ref i, out string headerValue)
                        || headerName.Any(c => c <= ' ' || c == ':' || c >= 127))
                    {
                        section.Error(entry, "add-header needs a header name and a value: add-header X-Name \"value\"");
                        return null;
                    }

                    actions.Add(new RuleAction(RuleActionKind.AddHeader, Text: headerValue, Name: headerName));
                    break;
                case "prefix-subject":
                    if (!TakeText(words, ref i, out string prefix) || prefix.Length == 0)
                    {
                        section.Error(entry, "prefix-subject needs the text: prefix-subject \"[SPAM] \"");
                        return null;
                    }

                    actions.Add(new RuleAction(RuleActionKind.PrefixSubject, Text: prefix));
                    break;
                case "redirect" or "bcc" or "change-sender":
                {
                    var addresses = new List<string>();
                    while (i < words.Count && words[i].Kind != ConfigWordKind.Regex && words[i].Text.Contains('@', StringComparison.Ordinal)
                        && !(word.Is("change-sender") && addresses.Count == 1))
                    {
                        addresses.Add(words[i++].Text.Trim('<', '>'));
                    }

                    if (addresses.Count == 0)
                    {
                        section.Error(entry, $"{word.Text} needs {(word.Is("change-sender") ? "an address" : "one or more addresses")}");
                        return null;
                    }

                    RuleActionKind kind = word.Is("redirect") ? RuleActionKind.Redirect : word.Is("bcc") ? RuleActionKind.Bcc : RuleActionKind.ChangeSender;
                    actions.Add(new RuleAction(kind, Addresses: addresses));
                    break;
                }

                default:
                    section.Error(entry, $"'{word.Text}' is not an action; actions are reject, tempfail, discard, quarantine, add-header, prefix-subject, redirect, change-sender, bcc");
                    return null;
            }
        }

        if (actions.Count == 0)
        {
            section.Error(entry, "the rule has no action");
            return null;
        }

        if (actions.Count(a => a.IsTerminal) > 1)
        {
            section.Error(entry, "a rule can have one of reject, tempfail and discard, not several");
            return null;
        }

        return actions;
    }

    private static bool TakeText(List<ConfigWord> words, ref int i, out string text)
    {
        if (i < words.Count && words[i].Kind != ConfigWordKind.Regex)
        {
            text = words[i++].Text;
            return true;
        }

        text = "";
        return false;
    }

    private static bool StartsWithCode(string text) => text.Length >= 3 && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[1]) && char.IsAsciiDigit(text[2]);
}
