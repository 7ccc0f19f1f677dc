namespace AotMilter.Protocol;

/// <summary>Reads the NUL-terminated strings milter payloads are made of.</summary>
public static class NulString
{
    /// <summary>
    /// Takes the string at the start of <paramref name="payload"/> (without its NUL) and advances past the NUL.
    /// </summary>
    /// <exception cref="MilterProtocolException">No NUL terminates the string.</exception>
    public static ReadOnlySpan<byte> Read(scoped ref ReadOnlySpan<byte> payload, string what)
    {
        int end = payload.IndexOf((byte)0);
        if (end < 0)
        {
            MilterProtocolException.Throw(MilterProtocolError.MissingTerminator, $"{what} is not NUL-terminated");
        }

        ReadOnlySpan<byte> value = payload[..end];
        payload = payload[(end + 1)..];
        return value;
    }

    /// <summary>Like <see cref="Read"/>, but a string that runs to the end of the payload without a NUL is accepted.</summary>
    public static ReadOnlySpan<byte> ReadLenient(scoped ref ReadOnlySpan<byte> payload)
    {
        int end = payload.IndexOf((byte)0);
        if (end < 0)
        {
            ReadOnlySpan<byte> rest = payload;
            payload = default;
            return rest;
        }

        ReadOnlySpan<byte> value = payload[..end];
        payload = payload[(end + 1)..];
        return value;
    }
}
