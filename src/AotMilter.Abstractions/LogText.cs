using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace AotMilter;

/// <summary>
/// Makes text from the SMTP client or the MTA (names, addresses, header values, macro values) safe to put in a log
/// line. Such text is chosen by whoever connects to the MTA: written as it comes, a CR or LF in a header value starts
/// a forged log line, and one large header makes a megabyte of log.
/// <list type="bullet">
/// <item>Printable ASCII and printable UTF-8 are kept; a backslash becomes <c>\\</c>.</item>
/// <item>Tab, CR and LF become <c>\t</c>, <c>\r</c>, <c>\n</c>; other control bytes and bytes that are not UTF-8
/// become <c>\xHH</c>; invisible or line-breaking characters (C1 controls, U+2028, U+2029, bidirectional and other
/// format characters) become <c>\uHHHH</c> or <c>\UHHHHHHHH</c>.</item>
/// <item>Only the first <see cref="MaxValueBytes"/> bytes are shown (a character that straddles the limit is kept
/// whole), followed by <c>…(+N bytes)</c> with the number of bytes left out.</item>
/// </list>
/// </summary>
public static class LogText
{
    /// <summary>How much of a value is shown, in bytes of its UTF-8 form.</summary>
    public const int MaxValueBytes = 256;

    /// <summary>The most bytes <see cref="Escape(ReadOnlySpan{byte}, Span{byte})"/> writes for any value.</summary>
    public const int MaxEscapedBytes = ((MaxValueBytes + 3) * 4) + MaxMarkerBytes;

    // A kept byte takes at most 4 bytes escaped (\xHH); "…(+N bytes)" at most 5 + 19 digits + 7.
    private const int MaxMarkerBytes = 32;

    /// <summary>The value, escaped and shortened, as a string.</summary>
    public static string Escape(ReadOnlySpan<byte> value)
    {
        if (IsPlain(value))
        {
            return Encoding.ASCII.GetString(value);
        }

        Span<byte> escaped = stackalloc byte[MaxEscapedBytes];
        return Encoding.UTF8.GetString(escaped[..Write(value, 0, escaped)]);
    }

    /// <summary>The value, escaped and shortened ("" for null). A value with nothing to change is returned as is.</summary>
    public static string Escape(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value.Length <= MaxValueBytes && !value.AsSpan().ContainsAnyExceptInRange(' ', '~') && !value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        // Only the start is encoded: MaxValueBytes + 3 bytes need at most as many characters.
        ReadOnlySpan<char> head = value.AsSpan(0, Math.Min(value.Length, MaxValueBytes + 3));
        Span<byte> bytes = stackalloc byte[(MaxValueBytes + 3) * 3];
        int length = Encoding.UTF8.GetBytes(head, bytes);
        long omitted = head.Length == value.Length ? 0 : Encoding.UTF8.GetByteCount(value.AsSpan(head.Length));
        Span<byte> escaped = stackalloc byte[MaxEscapedBytes];
        return Encoding.UTF8.GetString(escaped[..Write(bytes[..length], omitted, escaped)]);
    }

    /// <summary>
    /// Writes the value, escaped and shortened, to <paramref name="destination"/> without allocating; returns the
    /// number of bytes written. <paramref name="destination"/> must hold <see cref="MaxEscapedLength"/> bytes.
    /// </summary>
    public static int Escape(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, MaxEscapedLength(value.Length), nameof(destination));
        return Write(value, 0, destination);
    }

    /// <summary>The most bytes the escaped form of a value of <paramref name="valueLength"/> bytes can take.</summary>
    public static int MaxEscapedLength(int valueLength) => (Math.Min(valueLength, MaxValueBytes + 3) * 4) + MaxMarkerBytes;

    private static bool IsPlain(ReadOnlySpan<byte> value)
        => value.Length <= MaxValueBytes && !value.ContainsAnyExceptInRange((byte)' ', (byte)'~') && !value.Contains((byte)'\\');

    /// <param name="value">The value, or its start.</param>
    /// <param name="omitted">Bytes of the value that follow <paramref name="value"/> and were never looked at.</param>
    /// <param name="destination">At least <see cref="MaxEscapedBytes"/> long.</param>
    private static int Write(ReadOnlySpan<byte> value, long omitted, Span<byte> destination)
    {
        int read = 0;
        int written = 0;
        while (read < value.Length && read < MaxValueBytes)
        {
            byte b = value[read];
            if (b is >= 0x20 and < 0x7F)
            {
                if (b == (byte)'\\')
                {
                    destination[written++] = (byte)'\\';
                }

                destination[written++] = b;
                read++;
                continue;
            }

            OperationStatus status = Rune.DecodeFromUtf8(value[read..], out Rune rune, out int consumed);
            if (status != OperationStatus.Done)
            {
                // Not UTF-8 (or cut off): each byte of the bad sequence is shown as its value.
                for (int i = 0; i < consumed; i++)
                {
                    written += Hex(value[read + i], destination[written..]);
                }

                read += consumed;
                continue;
            }

            written += rune.Value switch
            {
                '\t' => Copy(@"\t"u8, destination[written..]),
                '\r' => Copy(@"\r"u8, destination[written..]),
                '\n' => Copy(@"\n"u8, destination[written..]),
                < 0x80 => Hex((byte)rune.Value, destination[written..]),
                _ when IsInvisible(rune) => CodePoint(rune, destination[written..]),
                _ => Copy(value.Slice(read, consumed), destination[written..]),
            };
            read += consumed;
        }

        omitted += value.Length - read;
        if (omitted > 0)
        {
            written += Copy("…(+"u8, destination[written..]);
            Utf8Formatter.TryFormat(omitted, destination[written..], out int digits);
            written += digits;
            written += Copy(" bytes)"u8, destination[written..]);
        }

        return written;
    }

    private static bool IsInvisible(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    private static int Copy(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    private static int Hex(byte b, Span<byte> destination)
    {
        destination[0] = (byte)'\\';
        destination[1] = (byte)'x';
        destination[2] = HexDigit(b >> 4);
        destination[3] = HexDigit(b & 0xF);
        return 4;
    }

    private static int CodePoint(Rune rune, Span<byte> destination)
    {
        int digits = rune.IsBmp ? 4 : 8;
        destination[0] = (byte)'\\';
        destination[1] = rune.IsBmp ? (byte)'u' : (byte)'U';
        for (int i = 0; i < digits; i++)
        {
            destination[2 + i] = HexDigit((rune.Value >> (4 * (digits - 1 - i))) & 0xF);
        }

        return 2 + digits;
    }

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'A' + value - 10);
}
