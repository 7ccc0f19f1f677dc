namespace AotMilter.Protocol;

/// <summary>
/// SMFIC_MACRO: <c>stage:1 (name\0 value\0)*</c>. Deliberately tolerant: Postfix sends macro packets with no
/// pairs and with stage letters Sendmail never uses (L, B, U), and a strict parser here is a known cause of
/// "can't read reply packet header" failures. A trailing name without a value is read as an empty value.
/// </summary>
public ref struct MacroReader
{
    private ReadOnlySpan<byte> _remaining;

    private MacroReader(byte stage, ReadOnlySpan<byte> pairs)
    {
        Stage = stage;
        _remaining = pairs;
        Name = default;
        Value = default;
    }

    /// <summary>The command letter the macros belong to (C, H, M, R, T, N, E; Postfix also L, B, U).</summary>
    public byte Stage { get; }

    public ReadOnlySpan<byte> Name { get; private set; }

    public ReadOnlySpan<byte> Value { get; private set; }

    /// <exception cref="MilterProtocolException">The payload is empty (no stage byte).</exception>
    public static MacroReader Parse(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            MilterProtocolException.Throw(MilterProtocolError.MissingMacroStage, "macro command has no stage byte");
        }

        return new MacroReader(payload[0], payload[1..]);
    }

    /// <summary>Moves to the next name/value pair; false at the end.</summary>
    public bool MoveNext()
    {
        while (!_remaining.IsEmpty)
        {
            Name = NulString.ReadLenient(ref _remaining);
            Value = NulString.ReadLenient(ref _remaining);
            if (!Name.IsEmpty)
            {
                return true;
            }
        }

        return false;
    }
}
