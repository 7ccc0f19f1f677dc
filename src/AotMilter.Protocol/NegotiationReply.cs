using System.Buffers;

namespace AotMilter.Protocol;

/// <summary>
/// The milter's answer to option negotiation, read on the MTA side:
/// <c>version:u32 actions:u32 protocol:u32 (stage:u32 "names"\0)*</c>. The symbol lists stay a slice of the frame;
/// <see cref="Parse"/> walks them once so that a later <see cref="SymbolLists"/> enumeration cannot fail.
/// </summary>
public readonly ref struct NegotiationReply
{
    public NegotiationReply(OptionNegotiation options, ReadOnlySpan<byte> symbolLists)
    {
        Options = options;
        SymbolListBytes = symbolLists;
    }

    public OptionNegotiation Options { get; }

    /// <summary>The encoded symbol lists (see <see cref="MilterFrameWriter.EncodeSymbolList"/>).</summary>
    public ReadOnlySpan<byte> SymbolListBytes { get; }

    public SymbolListReader SymbolLists => new(SymbolListBytes);

    /// <exception cref="MilterProtocolException">The fixed part is short, or a symbol list is malformed.</exception>
    public static NegotiationReply Parse(ReadOnlySpan<byte> payload)
    {
        OptionNegotiation options = OptionNegotiation.Parse(payload);
        ReadOnlySpan<byte> lists = payload[OptionNegotiation.PayloadSize..];
        var reader = new SymbolListReader(lists);
        while (reader.MoveNext())
        {
        }

        return new NegotiationReply(options, lists);
    }

    /// <summary>Writes the reply as an <c>O</c> frame.</summary>
    public void WriteTo(IBufferWriter<byte> writer) => MilterFrameWriter.WriteNegotiation(writer, Options, SymbolListBytes);
}
