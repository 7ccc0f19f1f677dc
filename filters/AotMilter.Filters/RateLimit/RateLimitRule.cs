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
public sealed record RateLimitRule(RateLimitKey Key, int Limit, TimeSpan Window, SmtpReply Reply, string Source);
