using AotMilter.Filters.RateLimit;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Rate-limit counters in Redis, shared by every daemon that names the same server and key prefix. The counting is
/// the in-process store's (<see cref="InMemoryRateLimitStore"/>): per key the count of the current fixed window and of
/// the previous one, weighted by how much of the previous window the sliding window still covers. A Lua script checks
/// every key of a message and, when all are within their limits, counts it on each: atomically, in one round trip,
/// with the server's clock (the daemons' clocks may differ; Redis's is one). Each counter is one hash that expires two
/// windows after its last use.
/// </summary>
public sealed class RedisRateLimitStore(RedisClient client, string keyPrefix, TimeSpan deadline)
    : RedisScriptStore(client, Script, keyPrefix + "rl:", deadline), IRateLimitStore
{
    // KEYS: the counters. ARGV: per key its limit and its window in milliseconds.
    // Returns -1 when counted, else the 0-based index of the first key over its limit.
    private static readonly RedisScript Script = new("ratelimit", ServerClock + """
        local n = #KEYS
        local state = {}
        for i = 1, n do
          local limit = tonumber(ARGV[2 * i - 1])
          local window = tonumber(ARGV[2 * i])
          local w = math.floor(now / window)
          local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
          local hw, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
          if hw == nil or hw < w - 1 or hw > w then
            c, p = 0, 0
          elseif hw == w - 1 then
            c, p = 0, c
          end
          local elapsed = (now % window) / window
          if p * (1 - elapsed) + c + 1 > limit then
            return i - 1
          end
          state[i] = { w, c, p, window }
        end
        for i = 1, n do
          local s = state[i]
          redis.call('HSET', KEYS[i], 'w', s[1], 'c', s[2] + 1, 'p', s[3])
          redis.call('PEXPIRE', KEYS[i], 2 * s[4])
        end
        return -1
        """);

    public async ValueTask<int> TryAcquireAsync(IReadOnlyList<RateLimitRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var keys = new string[requests.Count];
        var arguments = new long[requests.Count * 2];
        for (int i = 0; i < requests.Count; i++)
        {
            keys[i] = KeyPrefix + requests[i].Key;
            arguments[2 * i] = requests[i].Limit;
            arguments[(2 * i) + 1] = (long)requests[i].Window.TotalMilliseconds;
        }

        RedisReply reply = await RunAsync(keys, arguments, cancellationToken).ConfigureAwait(false);
        return (int)reply.AsInteger();
    }
}
