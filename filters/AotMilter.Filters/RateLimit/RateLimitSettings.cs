using System.Globalization;
using AotMilter.Configuration;
using AotMilter.Filters.Matching;

namespace AotMilter.Filters.RateLimit;

/// <summary>
/// Messages per sender, sender domain, client address or SMTP AUTH login in a sliding window:
/// <code>
/// [ratelimit]
/// sender = 100/1h
/// client = 500/1h reply="451 4.7.1 Too much mail from your address, slow down"
/// auth = 50/1m
/// auth = 1000/1d
/// exempt-clients = 127.0.0.1 ::1 10.0.0.0/8
/// max-keys = 100000
/// </code>
/// </summary>
public sealed class RateLimitSettings : IFilterSettings<RateLimitSettings>
{
    public static readonly SmtpReply DefaultReply = SmtpReply.Create(451, "4.7.1", "Rate limit exceeded, try again later");

    private static readonly string[] Keys = ["sender", "sender-domain", "client", "auth", "exempt-clients", "max-keys"];

    public IReadOnlyList<RateLimitRule> Rules { get; init; } = [];

    public IReadOnlyList<IpNetwork> ExemptClients { get; init; } = [];

    public required IRateLimitStore Store { get; init; }

    public static RateLimitSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        var rules = new List<RateLimitRule>();
        foreach (ConfigEntry entry in section.Entries)
        {
            RateLimitKey? key = entry.Key.ToLowerInvariant() switch
            {
                "sender" => RateLimitKey.Sender,
                "sender-domain" => RateLimitKey.SenderDomain,
                "client" => RateLimitKey.Client,
                "auth" => RateLimitKey.Auth,
                _ => null,
            };
            if (key is RateLimitKey k && ParseRule(section, entry, k) is RateLimitRule rule)
            {
                rules.Add(rule);
            }
        }

        var exempt = new List<IpNetwork>();
        foreach ((ConfigEntry entry, ConfigWord word) in section.ReadList("exempt-clients"))
        {
            if (IpNetwork.TryParse(word.Text, out IpNetwork? network, out string? error))
            {
                exempt.Add(network!);
            }
            else
            {
                section.Error(entry, error!);
            }
        }

        int maxKeys = section.ReadInt("max-keys", 100_000, 100, 10_000_000);
        return new RateLimitSettings { Rules = rules, ExemptClients = exempt, Store = InMemoryRateLimitStore.Shared(maxKeys) };
    }

    private static RateLimitRule? ParseRule(ConfigSection section, ConfigEntry entry, RateLimitKey key)
    {
        List<ConfigWord> words = ConfigWords.Split(section, entry);
        SmtpReply reply = DefaultReply;
        int limit = 0;
        TimeSpan window = default;
        bool rate = false;
        foreach (ConfigWord word in words)
        {
            if (word.IsOption("reply", out string text))
            {
                reply = ConfigValues.ParseReply(section, entry, text, DefaultReply, transient: true);
                continue;
            }

            int slash = word.Text.IndexOf('/', StringComparison.Ordinal);
            if (!rate && slash > 0
                && int.TryParse(word.Text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit > 0
                && ConfigValues.TryParseDuration(word.Text[(slash + 1)..], out window) && window >= TimeSpan.FromSeconds(1))
            {
                rate = true;
                continue;
            }

            section.Error(entry, $"'{word}' is not a rate; write {entry.Key} = COUNT/WINDOW [reply=\"451 4.7.1 text\"], for example 100/1h");
            return null;
        }

        if (!rate)
        {
            section.Error(entry, $"write {entry.Key} = COUNT/WINDOW, for example 100/1h");
            return null;
        }

        return new RateLimitRule(key, limit, window, reply, $"{section.Name}.{entry.Key} ({Path.GetFileName(entry.File)}:{entry.Line})");
    }
}
