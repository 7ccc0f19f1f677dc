using System.Buffers;
using System.Buffers.Text;

namespace AotMilter.Filters.Mime;

/// <summary>Base64 content as mail carries it: in lines, with white space to ignore.</summary>
public static class Base64Lines
{
    public const int LineLength = 76;

    private const int PooledSize = 64 * 1024;

    /// <summary>Decodes, ignoring line breaks and white space; false when the content is not valid base64.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, out byte[] decoded)
    {
        // Pooled only up to 64 KiB: the shared pool keeps what it is given, and a 10 MB part would stay in it.
        int size = Math.Max(encoded.Length, 4);
        bool pooled = size <= PooledSize;
        byte[] compact = pooled ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
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

            // In place, then one copy of the exact length: a part's decoded bytes are allocated once.
            if (Base64.DecodeFromUtf8InPlace(compact.AsSpan(0, n), out int written) != OperationStatus.Done)
            {
                decoded = [];
                return false;
            }

            decoded = compact.AsSpan(0, written).ToArray();
            return true;
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(compact);
            }
        }
    }

    /// <summary>Encodes in lines of 76 characters, each ended by <paramref name="lineEnding"/> (the last one too).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, string lineEnding)
    {
        ArgumentNullException.ThrowIfNull(lineEnding);
        ReadOnlySpan<byte> eol = lineEnding == "\n" ? "\n"u8 : "\r\n"u8;

        // Straight into the result, one line (57 bytes in, 76 out) at a time: no flat copy to cut into lines.
        const int lineInput = LineLength / 4 * 3;
        int encoded = Base64.GetMaxEncodedToUtf8Length(data.Length);
        int lines = (encoded + LineLength - 1) / LineLength;
        byte[] output = new byte[encoded + (lines * eol.Length)];
        int at = 0;
        for (int i = 0; i < data.Length; i += lineInput)
        {
            Base64.EncodeToUtf8(data.Slice(i, Math.Min(lineInput, data.Length - i)), output.AsSpan(at), out _, out int written);
            at += written;
            eol.CopyTo(output.AsSpan(at));
            at += eol.Length;
        }

        return output;
    }
}
