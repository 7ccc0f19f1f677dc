namespace AotMilter.Protocol;

/// <summary>SMFIC_HEADER: <c>name\0value\0</c>. Folded values contain bare LF followed by white space.</summary>
public readonly ref struct HeaderCommand
{
    public HeaderCommand(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Name = name;
        Value = value;
    }

    public ReadOnlySpan<byte> Name { get; }

    public ReadOnlySpan<byte> Value { get; }

    /// <exception cref="MilterProtocolException">Name or value is not NUL-terminated.</exception>
    public static HeaderCommand Parse(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> name = NulString.Read(ref payload, "header name");
        ReadOnlySpan<byte> value = NulString.Read(ref payload, "header value");
        return new HeaderCommand(name, value);
    }
}
