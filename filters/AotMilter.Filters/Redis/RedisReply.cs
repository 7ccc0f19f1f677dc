namespace AotMilter.Filters.Redis;

/// <summary>What kind of value a RESP2 reply is.</summary>
public enum RedisReplyKind
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Null,
    Array,
}

/// <summary>
/// One reply from Redis. The stores' scripts answer with integers or short arrays of them, so small integers are
/// shared instances and answering them allocates nothing.
/// </summary>
public sealed class RedisReply(RedisReplyKind kind, long integer, string? text, RedisReply[] items)
{
    private const int CachedMin = -1;
    private const int CachedMax = 255;
    private static readonly RedisReply[] SmallIntegers = CreateSmallIntegers();

    public static readonly RedisReply Null = new(RedisReplyKind.Null, 0, null, []);

    public static readonly RedisReply Ok = new(RedisReplyKind.SimpleString, 0, "OK", []);

    /// <summary>What kind of value this is.</summary>
    public RedisReplyKind Kind => kind;

    /// <summary>The value of an integer reply.</summary>
    public long Integer => integer;

    /// <summary>The text of a simple string, error or bulk string reply.</summary>
    public string? Text => text;

    /// <summary>The elements of an array reply.</summary>
    public IReadOnlyList<RedisReply> Items => items;

    public bool IsError => Kind == RedisReplyKind.Error;

    public static RedisReply FromInteger(long value) =>
        value is >= CachedMin and <= CachedMax ? SmallIntegers[value - CachedMin] : new(RedisReplyKind.Integer, value, null, []);

    public static RedisReply FromText(RedisReplyKind kind, string text) =>
        kind == RedisReplyKind.SimpleString && text == "OK" ? Ok : new(kind, 0, text, []);

    public static RedisReply FromArray(RedisReply[] items) => new(RedisReplyKind.Array, 0, null, items);

    /// <summary>The integer, or an exception naming what came instead (a script that answered something else).</summary>
    public long AsInteger() => Kind == RedisReplyKind.Integer ? Integer : throw Unexpected("an integer");

    public RedisReply ItemAt(int index) =>
        Kind == RedisReplyKind.Array && index < Items.Count ? Items[index] : throw Unexpected($"an array of at least {index + 1}");

    public override string ToString() => Kind switch
    {
        RedisReplyKind.Integer => $"(integer) {Integer}",
        RedisReplyKind.Null => "(nil)",
        RedisReplyKind.Array => $"[{string.Join(", ", Items)}]",
        RedisReplyKind.Error => $"(error) {Text}",
        _ => $"\"{Text}\"",
    };

    private RedisException Unexpected(string wanted) => new($"Redis answered {this} where {wanted} was expected") { Reason = "reply" };

    private static RedisReply[] CreateSmallIntegers()
    {
        var all = new RedisReply[CachedMax - CachedMin + 1];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = new RedisReply(RedisReplyKind.Integer, i + CachedMin, null, []);
        }

        return all;
    }
}
