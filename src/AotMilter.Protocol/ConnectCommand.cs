using System.Buffers.Binary;

namespace AotMilter.Protocol;

/// <summary>
/// SMFIC_CONNECT: <c>hostname\0 family:1 [port:uint16 BE address\0]</c>. Port and address are absent for the unknown family.
/// </summary>
public readonly ref struct ConnectCommand
{
    /// <summary>A connect command with these values (what <see cref="Parse"/> gives; a test may build one directly).</summary>
    public ConnectCommand(ReadOnlySpan<byte> hostName, ConnectFamily family, ushort port, ReadOnlySpan<byte> address)
    {
        HostName = hostName;
        Family = family;
        Port = port;
        Address = address;
    }

    public ReadOnlySpan<byte> HostName { get; }

    public ConnectFamily Family { get; }

    public ushort Port { get; }

    /// <summary>The client address as text. Sendmail's "IPv6:" prefix is removed, so both MTAs look alike.</summary>
    public ReadOnlySpan<byte> Address { get; }

    /// <exception cref="MilterProtocolException">A string is unterminated, the family is unknown or the port is missing.</exception>
    public static ConnectCommand Parse(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> host = NulString.Read(ref payload, "connect host name");
        if (payload.IsEmpty)
        {
            MilterProtocolException.Throw(MilterProtocolError.TruncatedPayload, "connect command has no address family");
        }

        var family = (ConnectFamily)payload[0];
        payload = payload[1..];
        switch (family)
        {
            case ConnectFamily.Unknown:
                return new ConnectCommand(host, family, 0, default);
            case ConnectFamily.Unix:
            case ConnectFamily.IPv4:
            case ConnectFamily.IPv6:
                break;
            default:
                MilterProtocolException.Throw(MilterProtocolError.UnknownAddressFamily,
                    $"connect command has unknown address family 0x{(byte)family:x2}");
                break;
        }

        if (payload.Length < 2)
        {
            MilterProtocolException.Throw(MilterProtocolError.TruncatedPayload, "connect command has no port");
        }

        ushort port = BinaryPrimitives.ReadUInt16BigEndian(payload);
        payload = payload[2..];
        ReadOnlySpan<byte> address = NulString.Read(ref payload, "connect address");
        if (family == ConnectFamily.IPv6 && address.StartsWith("IPv6:"u8))
        {
            address = address[5..];
        }

        return new ConnectCommand(host, family, port, address);
    }
}
