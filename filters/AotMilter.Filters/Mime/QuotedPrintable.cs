using System.Buffers;

namespace AotMilter.Filters.Mime;

/// <summary>Quoted-printable (RFC 2045 §6.7), decoded leniently and encoded strictly.</summary>
public static class QuotedPrintable
{
    /// <summary>The longest encoded line, without its line ending.</summary>
    public const int MaxLineLength = 76;

    /// <summary>
    /// Decodes. Hard line breaks (CRLF or a bare LF) become CRLF, soft breaks ("=" at the end of a line) vanish,
    /// trailing white space on a line is dropped (it was added in transport), and a malformed "=" sequence is kept as
    /// written, as mail readers do.
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty)
        {
            // An empty part or encoded word; the writer below cannot be made with no capacity.
            return [];
        }

        var output = new ArrayBufferWriter<byte>(encoded.Length);
        int pos = 0;
        while (pos < encoded.Length)
        {
            Lines.Next(encoded, pos, encoded.Length, out int lineEnd, out int next);
            bool hasEnding = next > lineEnd;
            ReadOnlySpan<byte> line = encoded[pos..lineEnd].TrimEnd(" \t"u8);
            bool soft = line.Length > 0 && line[^1] == '=';
            if (soft)
            {
                line = line[..^1];
            }

            for (int i = 0; i < line.Length; i++)
            {
                byte b = line[i];
                if (b == '=' && i + 2 < line.Length && IsHex(line[i + 1]) && IsHex(line[i + 2]))
                {
                    Write(output, (byte)((Hex(line[i + 1]) << 4) | Hex(line[i + 2])));
                    i += 2;
                }
                else
                {
                    Write(output, b);
                }
            }

            if (hasEnding && !soft)
            {
                output.Write("\r\n"u8);
            }

            pos = next;
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Encodes <paramref name="data"/> (text whose line breaks are CRLF or bare LF) with lines of at most 76
    /// characters ended by <paramref name="lineEnding"/>. White space before a line break and '=' are encoded, as are
    /// control characters and 8-bit bytes; a "." or "From " at the start of a line is encoded too, so no transport
    /// mangles it.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, string lineEnding)
    {
        ArgumentNullException.ThrowIfNull(lineEnding);
        var output = new ArrayBufferWriter<byte>(data.Length + (data.Length / 8) + 16);
        ReadOnlySpan<byte> eol = lineEnding == "\n" ? "\n"u8 : "\r\n"u8;
        Span<byte> token = stackalloc byte[3];
        int column = 0;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            bool hardBreak = b == '\n' || (b == '\r' && i + 1 < data.Length && data[i + 1] == '\n');
            if (hardBreak)
            {
                output.Write(eol);
                column = 0;
                if (b == '\r')
                {
                    i++;
                }

                continue;
            }

            bool atLineEnd = i + 1 == data.Length || data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < data.Length && data[i + 2] == '\n');
            bool literal = b is >= 33 and <= 126 && b != '='
                || (b is (byte)' ' or (byte)'\t' && !atLineEnd);
            if (column == 0 && (b == '.' || (b == 'F' && data[i..].StartsWith("From "u8))))
            {
                literal = false;
            }

            int length;
            if (literal)
            {
                token[0] = b;
                length = 1;
            }
            else
            {
                token[0] = (byte)'=';
                token[1] = HexDigit(b >> 4);
                token[2] = HexDigit(b & 0xF);
                length = 3;
            }

            // Leave room for the soft break '=' unless this token ends the line anyway.
            int room = atLineEnd ? MaxLineLength : MaxLineLength - 1;
            if (column + length > room)
            {
                output.Write("="u8);
                output.Write(eol);
                column = 0;
            }

            output.Write(token[..length]);
            column += length;
        }

        return output.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> output, byte b)
    {
        output.GetSpan(1)[0] = b;
        output.Advance(1);
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F' or >= (byte)'a' and <= (byte)'f';

    private static int Hex(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static byte HexDigit(int v) => (byte)(v < 10 ? '0' + v : 'A' + v - 10);
}
