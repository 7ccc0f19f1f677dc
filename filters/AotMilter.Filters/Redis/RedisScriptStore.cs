namespace AotMilter.Filters.Redis;

/// <summary>
/// A store whose every operation is one Lua script on a Redis server: the keys under the store's prefix, the
/// script registered with the client (loaded with each new connection), and each call bounded by the store's deadline.
/// </summary>
public abstract class RedisScriptStore
{
    /// <summary>
    /// Lua that sets <c>now</c> to the server's time in milliseconds: every daemon's windows, delays and expiries
    /// follow one clock, whatever the daemons' own clocks say.
    /// </summary>
    protected const string ServerClock = """
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)

        """;

    private readonly RedisClient _client;
    private readonly RedisScript _script;
    private readonly TimeSpan _deadline;

    protected RedisScriptStore(RedisClient client, RedisScript script, string keyPrefix, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        _client = client;
        _script = script;
        KeyPrefix = keyPrefix;
        _deadline = deadline;
        client.Register(script);
    }

    /// <summary>Before every key of this store.</summary>
    protected string KeyPrefix { get; }

    /// <summary>Runs the script once: one round trip.</summary>
    protected Task<RedisReply> RunAsync(IReadOnlyList<string> keys, IReadOnlyList<long> arguments, CancellationToken cancellationToken) =>
        _client.EvalAsync(_script, keys, arguments, _deadline, cancellationToken);
}
