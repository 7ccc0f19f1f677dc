namespace AotMilter.Filters.RateLimit;

/// <summary>One counter to check: its key, and how many events it allows per sliding window.</summary>
public readonly record struct RateLimitRequest(string Key, int Limit, TimeSpan Window);

/// <summary>
/// Where rate-limit counters live. The bundled store is in-process (<see cref="InMemoryRateLimitStore"/>); a store
/// shared by several daemons (Redis, say) implements the same call, which is asynchronous for that reason.
/// </summary>
public interface IRateLimitStore
{
    /// <summary>
    /// Counts one event against every request's key when all of them are within their limits, atomically; when one is
    /// not, counts nothing. Returns -1 when the event was counted, else the index of the first request over its limit.
    /// </summary>
    ValueTask<int> TryAcquireAsync(IReadOnlyList<RateLimitRequest> requests, CancellationToken cancellationToken = default);
}
