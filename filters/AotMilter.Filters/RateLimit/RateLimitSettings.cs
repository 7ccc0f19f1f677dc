using System.Globalization;
using AotMilter.Configuration;
using AotMilter.Filters.Matching;
using AotMilter.Filters.Redis;
using AotMilter.Filters.Stores;

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
/// store = redis://127.0.0.1:6379/0    # shared by several daemons; see StoreSettings
/// on-error = tempfail
/// </code>
/// </summary>
public sealed class RateLimitSettings : IFilterSettings<RateLimitSettings>
{
    public static readonly SmtpReply DefaultReply = SmtpReply.Create(451, "4.7.1", "Rate limit exceeded, try again later");

    private static readonly Dictionary<string, RateLimitKey> Subjects = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sender"] = RateLimitKey.Sender,
        ["sender-domain"] = RateLimitKey.SenderDomain,
        ["client"] = RateLimitKey.Client,
        ["auth"] = RateLimitKey.Auth,
    };

    private static readonly string[] Keys = [.. Subjects.Keys, "exempt-clients", "max-keys", .. StoreSettings.Keys];

    public IReadOnlyList<RateLimitRule> Rules { get; init; } = [];

    public IReadOnlyList<IpNetwork> ExemptClients { get; init; } = [];

    /// <summary>A rule counts per client address, or some clients are exempt: the filter parses the client's address.</summary>
    public bool UsesClient => _usesClient ??= ExemptClients.Count > 0 || Rules.Any(r => r.Key == RateLimitKey.Client);

    private bool? _usesClient;

    public required IRateLimitStore Store { get; init; }

    /// <summary>Which store, and what a message gets when it fails (<c>on-error</c>).</summary>
    public StoreSettings StoreSettings { get; init; } = StoreSettings.Default;

    public StoreMetrics StoreMetrics { get; init; } = StoreMetrics.For("ratelimit", "memory");

    public static RateLimitSettings Parse(ConfigSection section)
    {
        List<RateLimitRule> rules = RuleEntries.Parse(section, Keys, Subjects, ParseRule);
        List<IpNetwork> exempt = PatternLists.ReadNetworks(section, "exempt-clients");
        int maxKeys = section.ReadInt("max-keys", 100_000, 100, 10_000_000);
        StoreSettings store = StoreSettings.Parse(section);
        return new RateLimitSettings
        {
            Rules = rules,
            ExemptClients = exempt,
            StoreSettings = store,
            Store = store.Create<IRateLimitStore>((client, prefix, deadline) => new RedisRateLimitStore(client, prefix, deadline), () => InMemoryRateLimitStore.Shared(maxKeys)),
            StoreMetrics = StoreMetrics.For("ratelimit", store.Kind),
        };
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
