using AotMilter.Configuration;
using AotMilter.Filters.Matching;
using AotMilter.Filters.Redis;
using AotMilter.Filters.Stores;

namespace AotMilter.Filters.Greylist;

/// <summary>
/// Greylisting: a recipient from a client network and sender not seen before is tempfailed; a real MTA retries, and
/// passes once <c>delay</c> has passed (and before <c>retry-window</c> closes). Every setting has a default:
/// <code>
/// [greylist]
/// delay = 5m
/// retry-window = 4h
/// pass-ttl = 36d
/// auto-allow = 5                     # passed triplets after which a client network is trusted (0: never)
/// ipv4-prefix = 24                   # the client network of a triplet
/// ipv6-prefix = 64
/// reply = "451 4.7.1 Greylisted, try again later"
/// exempt-clients = 127.0.0.1 ::1 10.0.0.0/8
/// exempt-hosts = *.outbound.protection.outlook.com
/// exempt-senders = @example.org
/// exempt-recipients = postmaster@* abuse@*
/// max-entries = 100000               # in-process store
/// store = memory                     # or redis://HOST:PORT/DB (see StoreSettings), key-prefix, store-timeout, on-error
/// </code>
/// Authenticated clients (SMTP AUTH) are never greylisted.
/// </summary>
public sealed class GreylistSettings : IFilterSettings<GreylistSettings>
{
    public static readonly SmtpReply DefaultReply = SmtpReply.Create(451, "4.7.1", "Greylisted, please try again later");

    private static readonly string[] Keys =
    [
        "delay", "retry-window", "pass-ttl", "auto-allow", "ipv4-prefix", "ipv6-prefix", "reply",
        "exempt-clients", "exempt-hosts", "exempt-senders", "exempt-recipients", "max-entries", .. StoreSettings.Keys,
    ];

    public GreylistTimes Times { get; init; } = new(TimeSpan.FromMinutes(5), TimeSpan.FromHours(4), TimeSpan.FromDays(36), 5);

    public int Ipv4Prefix { get; init; } = 24;

    public int Ipv6Prefix { get; init; } = 64;

    public SmtpReply Reply { get; init; } = DefaultReply;

    public IReadOnlyList<IpNetwork> ExemptClients { get; init; } = [];

    public IReadOnlyList<NamePattern> ExemptHosts { get; init; } = [];

    public IReadOnlyList<AddressPattern> ExemptSenders { get; init; } = [];

    public IReadOnlyList<AddressPattern> ExemptRecipients { get; init; } = [];

    public required IGreylistStore Store { get; init; }

    public StoreSettings StoreSettings { get; init; } = StoreSettings.Default;

    public StoreMetrics StoreMetrics { get; init; } = StoreMetrics.For("greylist", "memory");

    public static GreylistSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        var times = new GreylistTimes(
            section.ReadDuration("delay", TimeSpan.FromMinutes(5)),
            section.ReadDuration("retry-window", TimeSpan.FromHours(4)),
            section.ReadDuration("pass-ttl", TimeSpan.FromDays(36)),
            section.ReadInt("auto-allow", 5, 0, 1_000_000));
        if (times.RetryWindow <= times.Delay && section.Get("retry-window") is ConfigEntry window)
        {
            section.Error(window, $"the retry window ({window.Value}) must be longer than the delay, or no retry can ever pass");
        }

        SmtpReply reply = section.Get("reply") is ConfigEntry r ? ConfigValues.ParseReply(section, r, r.Value, DefaultReply, transient: true) : DefaultReply;
        StoreSettings store = StoreSettings.Parse(section);
        int maxEntries = section.ReadInt("max-entries", 100_000, 100, 10_000_000);
        return new GreylistSettings
        {
            Times = times,
            Ipv4Prefix = section.ReadInt("ipv4-prefix", 24, 8, 32),
            Ipv6Prefix = section.ReadInt("ipv6-prefix", 64, 16, 128),
            Reply = reply,
            ExemptClients = PatternLists.ReadNetworks(section, "exempt-clients"),
            ExemptHosts = PatternLists.ReadNames(section, "exempt-hosts"),
            ExemptSenders = PatternLists.ReadAddresses(section, "exempt-senders"),
            ExemptRecipients = PatternLists.ReadAddresses(section, "exempt-recipients"),
            StoreSettings = store,
            Store = store.Create<IGreylistStore>(
                (client, prefix, deadline) => new RedisGreylistStore(client, prefix, deadline),
                () => InMemoryGreylistStore.Shared(maxEntries)),
            StoreMetrics = StoreMetrics.For("greylist", store.Kind),
        };
    }
}
