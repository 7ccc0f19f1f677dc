using System.Buffers.Text;
using System.Text;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Reads RESP2 replies from received bytes. <see cref="TryRead"/> is false while a reply is incomplete (nothing
/// consumed); a reply that breaks the protocol or the bounds below throws <see cref="RedisException"/>, and the
/// connection is closed: nothing after it can be trusted to line up with the requests.
/// </summary>
public static class RespReader
{
    /// <summary>
    /// The largest bulk string accepted. The stores read integers and short strings (a script's SHA1, an error line):
    /// anything near this is not an answer to them.
    /// </summary>
    public const int MaxBulkLength = 64 * 1024;

    /// <summary>Most elements of one array, and how deep arrays may nest.</summary>
    public const int MaxArrayLength = 1024;

    public const int MaxDepth = 4;

    // A simple string, error or number line: longer ones are not Redis talking.
    private const int MaxLineLength = 4096;

    public static bool TryRead(ReadOnlySpan<byte> buffer, out RedisReply? reply, out int consumed)
    {
        consumed = 0;
        return TryRead(buffer, 0, ref consumed, out reply);
    }

    private static bool TryRead(ReadOnlySpan<byte> buffer, int depth, ref int consumed, out RedisReply? reply)
    {
        reply = null;
        if (!TryReadLine(buffer[consumed..], out ReadOnlySpan<byte> line, out int lineLength))
        {
            return false;
        }

        if (line.IsEmpty)
        {
            throw new RedisException("Redis sent an empty reply line") { Reason = "reply" };
        }

        byte marker = line[0];
        ReadOnlySpan<byte> rest = line[1..];
        int at = consumed + lineLength;
        switch (marker)
        {
            case (byte)'+':
            case (byte)'-':
                reply = RedisReply.FromText(marker == '+' ? RedisReplyKind.SimpleString : RedisReplyKind.Error, Encoding.UTF8.GetString(rest));
                consumed = at;
                return true;
            case (byte)':':
                reply = RedisReply.FromInteger(ParseNumber(rest));
                consumed = at;
                return true;
            case (byte)'$':
                return TryReadBulk(buffer, ParseNumber(rest), at, ref consumed, out reply);
            case (byte)'*':
                return TryReadArray(buffer, ParseNumber(rest), depth, at, ref consumed, out reply);
            default:
                throw new RedisException($"Redis sent a reply starting with byte 0x{marker:x2}, which RESP2 does not have") { Reason = "reply" };
        }
    }

    private static bool TryReadBulk(ReadOnlySpan<byte> buffer, long length, int at, ref int consumed, out RedisReply? reply)
    {
        reply = null;
        if (length == -1)
        {
            reply = RedisReply.Null;
            consumed = at;
            return true;
        }

        if (length is < 0 or > MaxBulkLength)
        {
            throw new RedisException($"Redis sent a bulk string of {length} bytes; at most {MaxBulkLength} are accepted") { Reason = "reply" };
        }

        if (buffer.Length - at < length + 2)
        {
            return false;
        }

        if (buffer[at + (int)length] != '\r' || buffer[at + (int)length + 1] != '\n')
        {
            throw new RedisException("Redis sent a bulk string without its CRLF") { Reason = "reply" };
        }

        reply = RedisReply.FromText(RedisReplyKind.BulkString, Encoding.UTF8.GetString(buffer.Slice(at, (int)length)));
        consumed = at + (int)length + 2;
        return true;
    }

    private static bool TryReadArray(ReadOnlySpan<byte> buffer, long count, int depth, int at, ref int consumed, out RedisReply? reply)
    {
        reply = null;
        if (count == -1)
        {
            reply = RedisReply.Null;
            consumed = at;
            return true;
        }

        if (count is < 0 or > MaxArrayLength || depth >= MaxDepth)
        {
            throw new RedisException($"Redis sent an array of {count} elements at depth {depth + 1}; at most {MaxArrayLength} and {MaxDepth} are accepted") { Reason = "reply" };
        }

        var items = new RedisReply[count];
        int position = at;
        for (int i = 0; i < count; i++)
        {
            if (!TryRead(buffer, depth + 1, ref position, out RedisReply? item))
            {
                return false;
            }

            items[i] = item!;
        }

        reply = RedisReply.FromArray(items);
        consumed = position;
        return true;
    }

    private static bool TryReadLine(ReadOnlySpan<byte> buffer, out ReadOnlySpan<byte> line, out int length)
    {
        int end = buffer[..Math.Min(buffer.Length, MaxLineLength)].IndexOf("\r\n"u8);
        if (end < 0)
        {
            if (buffer.Length >= MaxLineLength)
            {
                throw new RedisException($"Redis sent a reply line longer than {MaxLineLength} bytes") { Reason = "reply" };
            }

            line = default;
            length = 0;
            return false;
        }

        line = buffer[..end];
        length = end + 2;
        return true;
    }

    private static long ParseNumber(ReadOnlySpan<byte> text) =>
        Utf8Parser.TryParse(text, out long value, out int used) && used == text.Length
            ? value
            : throw new RedisException($"Redis sent '{Encoding.ASCII.GetString(text)}' where a number belongs") { Reason = "reply" };
}
