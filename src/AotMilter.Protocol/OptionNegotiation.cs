using System.Buffers.Binary;

namespace AotMilter.Protocol;

/// <summary>The three numbers of an option negotiation (SMFIC_OPTNEG from the MTA, the 'O' reply from the milter).</summary>
public readonly record struct OptionNegotiation(uint Version, ActionFlags Actions, ProtocolFlags Protocol)
{
    /// <summary>Size of the fixed part of the payload.</summary>
    public const int PayloadSize = 12;

    /// <summary>The highest protocol version this implementation speaks.</summary>
    public const uint MaxVersion = 6;

    /// <summary>The lowest version the MTA may offer (version 1 has no negotiation of its own).</summary>
    public const uint MinVersion = 2;

    /// <exception cref="MilterProtocolException">The payload is shorter than 12 bytes.</exception>
    public static OptionNegotiation Parse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < PayloadSize)
        {
            MilterProtocolException.Throw(MilterProtocolError.TruncatedPayload,
                $"option negotiation carries {payload.Length} bytes; 12 are required");
        }

        return new OptionNegotiation(
            BinaryPrimitives.ReadUInt32BigEndian(payload),
            (ActionFlags)BinaryPrimitives.ReadUInt32BigEndian(payload[4..]),
            (ProtocolFlags)BinaryPrimitives.ReadUInt32BigEndian(payload[8..]));
    }
}
