using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Writes commands in RESP2, the form Redis reads: an array of bulk strings,
/// <c>*N\r\n</c> then per argument <c>$LEN\r\nBYTES\r\n</c>. Commands are written into one buffer and sent together.
/// </summary>
public sealed class RespWriter
{
    // "*" or "$", at most 20 digits of a long, CRLF.
    private const int MaxPrefixLength = 23;

    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public void Clear() => _buffer.Clear();

    /// <summary>Starts a command of <paramref name="arguments"/> arguments (the command name counts).</summary>
    public RespWriter Command(int arguments) => Prefix((byte)'*', arguments);

    public RespWriter Argument(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int length = Encoding.UTF8.GetByteCount(value);
        Prefix((byte)'$', length);
        Span<byte> span = _buffer.GetSpan(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        _buffer.Advance(length + 2);
        return this;
    }

    public RespWriter Argument(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int length);
        Prefix((byte)'$', length);
        Span<byte> span = _buffer.GetSpan(length + 2);
        digits[..length].CopyTo(span);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        _buffer.Advance(length + 2);
        return this;
    }

    private RespWriter Prefix(byte marker, long value)
    {
        Span<byte> span = _buffer.GetSpan(MaxPrefixLength);
        span[0] = marker;
        Utf8Formatter.TryFormat(value, span[1..], out int length);
        span[length + 1] = (byte)'\r';
        span[length + 2] = (byte)'\n';
        _buffer.Advance(length + 3);
        return this;
    }
}
