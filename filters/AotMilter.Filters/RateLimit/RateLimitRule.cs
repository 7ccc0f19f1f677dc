using System.Globalization;

namespace AotMilter.Filters.RateLimit;

/// <summary>What a rate is counted per.</summary>
public enum RateLimitKey
{
    Sender,
    SenderDomain,
    Client,
    Auth,
}

/// <summary>One limit: at most <see cref="Limit"/> messages per <see cref="Window"/> for each value of <see cref="Key"/>.</summary>
public sealed record RateLimitRule(RateLimitKey Key, int Limit, TimeSpan Window, SmtpReply Reply, string Source)
{
    /// <summary>What each of this rule's counters is named with before the value: "Sender:10/60:".</summary>
    public string KeyPrefix { get; } = string.Create(CultureInfo.InvariantCulture, $"{Key}:{Limit}/{(long)Window.TotalSeconds}:");

    /// <summary>The counter of <paramref name="value"/> under this rule: its one string.</summary>
    public string KeyFor(ReadOnlySpan<char> value) => string.Concat(KeyPrefix, value);
}
