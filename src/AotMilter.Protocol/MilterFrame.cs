namespace AotMilter.Protocol;

/// <summary>One complete frame: its command byte and a slice of the receive buffer holding the payload (no copy).</summary>
public readonly ref struct MilterFrame
{
    public MilterFrame(byte command, ReadOnlySpan<byte> payload)
    {
        Command = command;
        Payload = payload;
    }

    public byte Command { get; }

    public ReadOnlySpan<byte> Payload { get; }
}
