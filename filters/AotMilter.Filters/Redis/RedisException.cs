namespace AotMilter.Filters.Redis;

/// <summary>
/// Redis could not answer: not reachable, too slow, the connection broke, or it answered with an error. A store turns
/// this into its filter's <c>on-error</c> verdict.
/// </summary>
public class RedisException : Exception
{
    public RedisException()
    {
    }

    public RedisException(string message)
        : base(message)
    {
    }

    public RedisException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>What kind of failure, for the store-error metric: <c>unavailable</c>, <c>timeout</c> or <c>reply</c>.</summary>
    public string Reason { get; init; } = "unavailable";
}
