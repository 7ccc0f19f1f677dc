using AotMilter.Filters.RateLimit;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Rate-limit counters in Redis, shared by every daemon that names the same server and key prefix. The counting is
/// the in-process store's (<see cref="InMemoryRateLimitStore"/>): per key the count of the current fixed window and of
/// the previous one, weighted by how much of the previous window the sliding window still covers. A Lua script checks
/// every key of a message and, when all are within their limits, counts it on each: atomically, in one round trip,
/// with the server's clock (the daemons' clocks may differ; Redis's is one). Each counter is one hash that expires at
/// the end of the window after its current one.
/// </summary>
public sealed class RedisRateLimitStore(RedisClient client, string keyPrefix, TimeSpan deadline)
    : RedisScriptStore(client, Script, keyPrefix + "rl:", deadline), IRateLimitStore
{
    // KEYS: the counters. ARGV: per key its limit and its window in milliseconds.
    // Returns -1 when counted, else the 0-based index of the first key over its limit.
    // Within a window a count is one HINCRBY; a counter's fields are rewritten, and its expiry set, only when its
    // window has moved on: the expiry is the end of the window after it, past which nothing in it counts any more.
    // (Each call from Lua costs Redis more than all the arithmetic around it.)
    private static readonly RedisScript Script = new("ratelimit", ServerClock + """
        local started = {}
        for i = 1, #KEYS do
          local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
          local w = math.floor(now / window)
          local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
          local hw, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
          if hw ~= w then
            if hw == w - 1 then p = c else p = 0 end
            c = 0
            started[i] = p
          end
          if p * (1 - (now % window) / window) + c + 1 > limit then
            return i - 1
          end
        end
        for i = 1, #KEYS do
          local p = started[i]
          if p == nil then
            redis.call('HINCRBY', KEYS[i], 'c', 1)
          else
            local window = tonumber(ARGV[2 * i])
            local w = math.floor(now / window)
            redis.call('HSET', KEYS[i], 'w', w, 'c', 1, 'p', p)
            redis.call('PEXPIREAT', KEYS[i], (w + 2) * window)
          end
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
