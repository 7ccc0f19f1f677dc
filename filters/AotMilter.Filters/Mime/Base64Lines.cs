using System.Buffers;
using System.Buffers.Text;

namespace AotMilter.Filters.Mime;

/// <summary>Base64 content as mail carries it: in lines, with white space to ignore.</summary>
public static class Base64Lines
{
    public const int LineLength = 76;

    /// <summary>Decodes, ignoring line breaks and white space; false when the content is not valid base64.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, out byte[] decoded)
    {
        byte[] compact = ArrayPool<byte>.Shared.Rent(Math.Max(encoded.Length, 4));
        try
        {
            int n = 0;
            foreach (byte b in encoded)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    compact[n++] = b;
                }
            }

            decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(n)];
            if (Base64.DecodeFromUtf8(compact.AsSpan(0, n), decoded, out int consumed, out int written) != OperationStatus.Done || consumed != n)
            {
                decoded = [];
                return false;
            }

            decoded = decoded.AsSpan(0, written).ToArray();
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compact);
        }
    }

    /// <summary>Encodes in lines of 76 characters, each ended by <paramref name="lineEnding"/> (the last one too).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, string lineEnding)
    {
        ArgumentNullException.ThrowIfNull(lineEnding);
        byte[] flat = new byte[Base64.GetMaxEncodedToUtf8Length(data.Length)];
        Base64.EncodeToUtf8(data, flat, out _, out int written);
        ReadOnlySpan<byte> eol = lineEnding == "\n" ? "\n"u8 : "\r\n"u8;
        var output = new ArrayBufferWriter<byte>(written + ((written / LineLength) + 1) * eol.Length);
        for (int i = 0; i < written; i += LineLength)
        {
            output.Write(flat.AsSpan(i, Math.Min(LineLength, written - i)));
            output.Write(eol);
        }

        return output.WrittenSpan.ToArray();
    }
}
