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
public sealed class RateLimitFilter : IResettableFilter
{
    private readonly RateLimitSettings _settings;
    private readonly List<RateLimitRequest> _requests = [];
    private readonly List<RateLimitRule> _applied = [];
    private IPAddress? _client;

    public RateLimitFilter(RateLimitSettings settings) => _settings = settings;

    [OnConnect]
    public void Connect(ConnectInfo client)
    {
        // Parsed only when a rule or an exemption needs it: the address object is this callback's one allocation.
        _client = _settings.UsesClient ? IpNetwork.ParseClient(client.Address.Bytes) : null;
    }

    // The longest text of an IPv6 address (45) with its zone.
    private const int MaxAddressText = 64;

    /// <summary>
    /// The counter of <paramref name="value"/> under <paramref name="rule"/>, spelled as <see cref="StoreKeys"/> says:
    /// one counter per sender whatever way the MTA lets it be written (a sender cannot double its quota by alternating
    /// spellings), and one for every value longer than an address can be.
    /// </summary>
    private static string CounterOf(RateLimitRule rule, ReadOnlySpan<char> value)
    {
        if (value.Length > StoreKeys.MaxValueLength)
        {
            return rule.KeyFor(StoreKeys.OverLong);
        }

        Span<char> folded = stackalloc char[StoreKeys.MaxValueLength];
        return rule.KeyFor(folded[..value.ToLowerInvariant(folded)]);
    }

    public bool TryReset()
    {
        _client = null;
        _requests.Clear();
        _applied.Clear();
        return true;
    }

    // A shared store answers over the network: then the wait is asynchronous (the I/O thread serves other connections
    // meanwhile) and ends at the store's deadline or when the callback is aborted. The in-process store answers at
    // once, and the verdict is returned from here.
    [OnMailFrom]
    public ValueTask<Verdict> MailFrom(string sender, [Macro("{auth_authen}")] string? login, MilterContext context)
    {
        if (_settings.Rules.Count == 0 || IsExempt())
        {
            return new(Verdict.Continue);
        }

        _requests.Clear();
        _applied.Clear();
        IReadOnlyList<RateLimitRule> rules = _settings.Rules;
        for (int i = 0; i < rules.Count; i++)
        {
            RateLimitRule rule = rules[i];
            string? key = rule.Key switch
            {
                // Bounces (the null sender) are not counted per sender: they all share "<>".
                RateLimitKey.Sender => sender.Length == 0 ? null : CounterOf(rule, StoreKeys.TrimDomainDots(sender)),
                RateLimitKey.SenderDomain => sender.LastIndexOf('@') is int at and >= 0 ? CounterOf(rule, sender.AsSpan(at + 1).TrimEnd('.')) : null,
                RateLimitKey.Client => _client is null ? null : ClientCounter(rule, _client),
                _ => string.IsNullOrEmpty(login) ? null : login.Length > StoreKeys.MaxValueLength ? rule.KeyFor(StoreKeys.OverLong) : rule.KeyFor(login),
            };
            if (key is not null)
            {
                // Each rule counts on its own key, so 10/1m and 100/1h on the same sender are two counters.
                _requests.Add(new RateLimitRequest(key, rule.Limit, rule.Window));
                _applied.Add(rule);
            }
        }

        if (_requests.Count == 0)
        {
            return new(Verdict.Continue);
        }

        long start = Stopwatch.GetTimestamp();
        ValueTask<int> answer = _settings.Store.TryAcquireAsync(_requests, context.CallbackAborted);
        return answer.IsCompletedSuccessfully ? new(Decide(answer.Result, start, context)) : AwaitAnswerAsync(answer, start, context);
    }

    private static string? ClientCounter(RateLimitRule rule, IPAddress client)
    {
        Span<char> text = stackalloc char[MaxAddressText];
        return client.TryFormat(text, out int written) ? rule.KeyFor(text[..written]) : null;
    }

    private bool IsExempt()
    {
        if (_client is null)
        {
            return false;
        }

        IReadOnlyList<IpNetwork> exempt = _settings.ExemptClients;
        for (int i = 0; i < exempt.Count; i++)
        {
            if (exempt[i].Contains(_client))
            {
                return true;
            }
        }

        return false;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Verdict> AwaitAnswerAsync(ValueTask<int> answer, long start, MilterContext context)
    {
        int exceeded;
        try
        {
            exceeded = await answer.ConfigureAwait(false);
        }
        catch (RedisException failure)
        {
            return StoreFailure.Handle(_settings.StoreSettings, _settings.StoreMetrics, failure, context);
        }

        return Decide(exceeded, start, context);
    }

    private Verdict Decide(int exceeded, long start, MilterContext context)
    {
        _settings.StoreMetrics.Answered(start);
        if (exceeded < 0)
        {
            return Verdict.Continue;
        }

        RateLimitRule over = _applied[exceeded];
        RateLimitLog.Exceeded(context.Logger, context.ConnectionId, LogText.Escape(_requests[exceeded].Key), over.Limit, over.Window, over.Source);
        return Verdict.TempFailWith(over.Reply);
    }
}
