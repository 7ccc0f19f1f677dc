using AotMilter.Filters.Greylist;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Greylisting in Redis, shared by every daemon that names the same server and key prefix: a triplet first seen
/// through one daemon passes through another. One Lua script per recipient does what
/// <see cref="InMemoryGreylistStore"/> does, atomically and with the server's clock; each triplet is a hash that
/// expires at the end of its retry window, or the pass TTL after its last use once it passed, and each client network's
/// pass count a number with the pass TTL.
/// </summary>
public sealed class RedisGreylistStore(RedisClient client, string keyPrefix, TimeSpan deadline)
    : RedisScriptStore(client, Script, keyPrefix + "gl:", deadline), IGreylistStore
{
    // KEYS: the triplet, the client network. ARGV: delay, retry window and pass TTL in milliseconds, auto-allow.
    // Returns { outcome, milliseconds to wait }; outcomes as GreylistOutcome's values.
    private static readonly RedisScript Script = new("greylist", ServerClock + """
        local delay, window, ttl, allow = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        if allow > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= allow then
          redis.call('PEXPIRE', KEYS[2], ttl)
          return { 4, 0 }
        end
        local h = redis.call('HMGET', KEYS[1], 'first', 'passed')
        local first = tonumber(h[1])
        if first == nil or (h[2] ~= '1' and now - first > window) then
          redis.call('HSET', KEYS[1], 'first', now, 'passed', 0)
          redis.call('PEXPIRE', KEYS[1], window)
          return { 0, delay }
        end
        if h[2] == '1' then
          redis.call('PEXPIRE', KEYS[1], ttl)
          return { 3, 0 }
        end
        if now - first < delay then
          return { 1, delay - (now - first) }
        end
        redis.call('HSET', KEYS[1], 'passed', 1)
        redis.call('PEXPIRE', KEYS[1], ttl)
        if allow > 0 then
          redis.call('INCR', KEYS[2])
          redis.call('PEXPIRE', KEYS[2], ttl)
        end
        return { 2, 0 }
        """);

    public async ValueTask<GreylistDecision> CheckAsync(string triplet, string client, GreylistTimes times, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(times);
        string[] keys = [KeyPrefix + "t:" + triplet, KeyPrefix + "c:" + client];
        long[] arguments = [(long)times.Delay.TotalMilliseconds, (long)times.RetryWindow.TotalMilliseconds, (long)times.PassTtl.TotalMilliseconds, times.AutoAllow];
        RedisReply reply = await RunAsync(keys, arguments, cancellationToken).ConfigureAwait(false);
        long outcome = reply.ItemAt(0).AsInteger();
        if (outcome is < 0 or > (long)GreylistOutcome.ClientAllowed)
        {
            throw new RedisException($"the greylist script answered {reply}") { Reason = "reply" };
        }

        return new GreylistDecision((GreylistOutcome)outcome, TimeSpan.FromMilliseconds(reply.ItemAt(1).AsInteger()));
    }
}
