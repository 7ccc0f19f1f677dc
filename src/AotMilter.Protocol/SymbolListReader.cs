using System.Buffers.Binary;

namespace AotMilter.Protocol;

/// <summary>
/// Enumerates the symbol lists that may follow the fixed part of the milter's negotiation reply:
/// <c>(stage:u32 "macro names separated by spaces"\0)*</c>. An empty list means "send no macros at this stage".
/// </summary>
public ref struct SymbolListReader
{
    private ReadOnlySpan<byte> _remaining;

    /// <param name="lists">The negotiation payload after its first <see cref="OptionNegotiation.PayloadSize"/> bytes.</param>
    public SymbolListReader(ReadOnlySpan<byte> lists)
    {
        _remaining = lists;
        Stage = default;
        Names = default;
    }

    /// <summary>The stage number (SMFIM_*); not checked, so a newer MTA's stages pass through.</summary>
    public MacroStage Stage { get; private set; }

    /// <summary>The macro names, separated by spaces.</summary>
    public ReadOnlySpan<byte> Names { get; private set; }

    /// <summary>Moves to the next list; false at the end.</summary>
    /// <exception cref="MilterProtocolException">A stage number is cut short, or a list is not NUL-terminated.</exception>
    public bool MoveNext()
    {
        if (_remaining.IsEmpty)
        {
            return false;
        }

        if (_remaining.Length < 4)
        {
            MilterProtocolException.Throw(MilterProtocolError.TruncatedPayload,
                $"symbol list carries {_remaining.Length} bytes; a stage number needs 4");
        }

        Stage = (MacroStage)BinaryPrimitives.ReadUInt32BigEndian(_remaining);
        _remaining = _remaining[4..];
        Names = NulString.Read(ref _remaining, "symbol list");
        return true;
    }
}
