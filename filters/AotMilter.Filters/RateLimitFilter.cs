using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using AotMilter.Filters.Matching;
using AotMilter.Filters.RateLimit;
using AotMilter.Filters.Redis;
using AotMilter.Filters.Stores;

namespace AotMilter.Filters;

/// <summary>
/// Limits how many messages a sender, a sender domain, a client address or an SMTP AUTH login may send in a sliding
/// window: each MAIL FROM is counted against every rule that applies, and refused with a 4xx (the client retries
/// later) when one of them is over its limit; a refused message is not counted. Counters live in the store the
/// settings name: in this process, or in Redis, shared by several daemons (one round trip per MAIL); when the store
/// cannot answer in time, the message gets the <c>on-error</c> verdict (tempfail by default).
/// </summary>
[Milter("ratelimit", Description = "Messages per sender, client or login in a sliding window; tempfail beyond")]
public sealed class RateLimitFilter
{
    private readonly RateLimitSettings _settings;
    private readonly List<RateLimitRequest> _requests = [];
    private readonly List<RateLimitRule> _applied = [];
    private IPAddress? _client;

    public RateLimitFilter(RateLimitSettings settings) => _settings = settings;

    [OnConnect]
    public void Connect(ConnectInfo client) => _client = IpNetwork.ParseClient(client.Address.ToString());

    // RFC 5321: a local part of 64 and a domain of 255 octets.
    private const int MaxKeyValueLength = 320;

    /// <summary>
    /// One counter per sender whatever way the MTA lets it be written: case folded, and the domain without the
    /// trailing dot of an absolute name ("a@Example.COM." is "a@example.com"), so a sender cannot double its quota by
    /// alternating spellings.
    /// </summary>
    internal static string SenderKey(string sender)
    {
        int at = sender.LastIndexOf('@');
        return at < 0 ? sender.ToLowerInvariant() : sender[..(at + 1)].ToLowerInvariant() + DomainKey(sender.AsSpan(at + 1));
    }

    /// <summary>A domain as one counter: case folded, without trailing dots.</summary>
    internal static string DomainKey(ReadOnlySpan<char> domain) => domain.TrimEnd('.').ToString().ToLowerInvariant();

    // Asynchronous because a shared store answers over the network: the I/O thread serves other connections
    // meanwhile, and the wait ends at the store's deadline or when the callback is aborted. The in-process store
    // answers at once, and then this completes synchronously, allocating nothing more.
    [OnMailFrom]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> MailFrom(string sender, [Macro("{auth_authen}")] string? login, MilterContext context)
    {
        if (_settings.Rules.Count == 0 || (_client is not null && _settings.ExemptClients.Any(n => n.Contains(_client))))
        {
            return Verdict.Continue;
        }

        _requests.Clear();
        _applied.Clear();
        foreach (RateLimitRule rule in _settings.Rules)
        {
            string? value = rule.Key switch
            {
                // Bounces (the null sender) are not counted per sender: they all share "<>".
                RateLimitKey.Sender => sender.Length == 0 ? null : SenderKey(sender),
                RateLimitKey.SenderDomain => sender.LastIndexOf('@') is int at and >= 0 ? DomainKey(sender.AsSpan(at + 1)) : null,
                RateLimitKey.Client => _client?.ToString(),
                _ => string.IsNullOrEmpty(login) ? null : login,
            };
            if (value is { Length: > MaxKeyValueLength })
            {
                // Longer than SMTP allows an address to be: such values share one counter, so a peer cannot fill
                // the store with megabyte-long keys.
                value = "(over-long)";
            }

            if (value is not null)
            {
                // Each rule counts on its own key, so 10/1m and 100/1h on the same sender are two counters.
                _requests.Add(new RateLimitRequest($"{rule.Key}:{rule.Limit}/{(long)rule.Window.TotalSeconds}:{value}", rule.Limit, rule.Window));
                _applied.Add(rule);
            }
        }

        if (_requests.Count == 0)
        {
            return Verdict.Continue;
        }

        int exceeded;
        long start = Stopwatch.GetTimestamp();
        try
        {
            exceeded = await _settings.Store.TryAcquireAsync(_requests, context.CallbackAborted).ConfigureAwait(false);
            _settings.StoreMetrics.Answered(start);
        }
        catch (RedisException failure)
        {
            return StoreFailure.Handle(_settings.StoreSettings, _settings.StoreMetrics, failure, context);
        }

        if (exceeded < 0)
        {
            return Verdict.Continue;
        }

        RateLimitRule over = _applied[exceeded];
        RateLimitLog.Exceeded(context.Logger, context.ConnectionId, LogText.Escape(_requests[exceeded].Key), over.Limit, over.Window, over.Source);
        return Verdict.TempFailWith(over.Reply);
    }
}
