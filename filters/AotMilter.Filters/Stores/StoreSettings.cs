using System.Globalization;
using AotMilter.Configuration;
using AotMilter.Filters.Redis;

namespace AotMilter.Filters.Stores;

/// <summary>What a filter does when its store cannot answer.</summary>
public enum StoreErrorAction
{
    /// <summary>4xx: the client retries later (the default; nothing passes unchecked).</summary>
    TempFail,

    /// <summary>Let the message (or recipient) through unchecked.</summary>
    Accept,
}

/// <summary>
/// Where a filter keeps what it remembers across messages, shared by the filters that have such state:
/// <code>
/// store = memory                        # in this process (default)
/// store = redis://127.0.0.1:6379/0      # or redis://:PASSWORD@HOST:PORT/DB, unix:/run/redis/redis.sock?db=0
/// key-prefix = aotmilter:               # before every Redis key
/// store-timeout = 500ms                 # deadline of one store call, connecting included
/// on-error = tempfail                   # or accept: what a message gets when the store cannot answer
/// </code>
/// </summary>
public sealed record StoreSettings(RedisEndpoint? Redis, string KeyPrefix, TimeSpan Timeout, StoreErrorAction OnError)
{
    public const string DefaultKeyPrefix = "aotmilter:";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    /// <summary>In this process; on error (it has none) tempfail.</summary>
    public static readonly StoreSettings Default = new(null, DefaultKeyPrefix, DefaultTimeout, StoreErrorAction.TempFail);

    /// <summary>The keys this reads, for the owning section's <c>CheckKeys</c>.</summary>
    public static readonly string[] Keys = ["store", "key-prefix", "store-timeout", "on-error"];

    /// <summary>A name for logs and metrics: <c>memory</c> or <c>redis</c>.</summary>
    public string Kind => Redis is null ? "memory" : "redis";

    public static StoreSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        RedisEndpoint? redis = null;
        if (section.Get("store") is ConfigEntry store && !store.Value.Trim().Equals("memory", StringComparison.OrdinalIgnoreCase)
            && !RedisEndpoint.TryParse(store.Value.Trim(), out redis, out string? error))
        {
            section.Error(store, $"{error}; write memory, redis://HOST:PORT/DB or unix:/PATH");
        }

        string prefix = section.ReadText("key-prefix", DefaultKeyPrefix);
        if (section.Get("key-prefix") is ConfigEntry prefixEntry && prefix.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            section.Error(prefixEntry, "a key prefix has no spaces");
        }

        TimeSpan timeout = DefaultTimeout;
        if (section.Get("store-timeout") is ConfigEntry timeoutEntry && !TryParseTimeout(timeoutEntry.Value, out timeout))
        {
            section.Error(timeoutEntry, $"'{timeoutEntry.Value}' is not a deadline from 1ms to {MaxTimeout.TotalSeconds:0}s (examples: 250ms, 2s)");
            timeout = DefaultTimeout;
        }

        StoreErrorAction onError = StoreErrorAction.TempFail;
        if (section.Get("on-error") is ConfigEntry onErrorEntry)
        {
            switch (onErrorEntry.Value.Trim().ToLowerInvariant())
            {
                case "tempfail":
                    break;
                case "accept":
                    onError = StoreErrorAction.Accept;
                    break;
                default:
                    section.Error(onErrorEntry, $"'{onErrorEntry.Value}': write tempfail or accept");
                    break;
            }
        }

        return new StoreSettings(redis, prefix, timeout, onError);
    }

    /// <summary>
    /// The store these settings name: <paramref name="redis"/> with the process-wide client of the server, the key
    /// prefix and the deadline, or <paramref name="memory"/>.
    /// </summary>
    public T Create<T>(Func<RedisClient, string, TimeSpan, T> redis, Func<T> memory)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(memory);
        return Redis is RedisEndpoint endpoint ? redis(RedisClient.Shared(endpoint), KeyPrefix, Timeout) : memory();
    }

    /// <summary>A deadline in milliseconds (<c>250ms</c>) or as a duration (<c>2s</c>).</summary>
    private static bool TryParseTimeout(string text, out TimeSpan timeout)
    {
        string trimmed = text.Trim();
        if (trimmed.EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(trimmed.AsSpan(0, trimmed.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int ms))
        {
            timeout = TimeSpan.FromMilliseconds(ms);
        }
        else if (!ConfigValues.TryParseDuration(trimmed, out timeout))
        {
            return false;
        }

        return timeout >= TimeSpan.FromMilliseconds(1) && timeout <= MaxTimeout;
    }
}
