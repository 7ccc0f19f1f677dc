using System.Text;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>The SMTP client as the MTA reports it at connect. Spans point into the receive buffer: valid during the call.</summary>
public readonly ref struct ConnectInfo
{
    public ConnectInfo(ReadOnlySpan<byte> hostName, ConnectFamily family, ushort port, ReadOnlySpan<byte> address)
    {
        HostName = hostName;
        Family = family;
        Port = port;
        Address = address;
    }

    /// <summary>The client's host name, or "[address]" when the MTA could not resolve it (Postfix).</summary>
    public ReadOnlySpan<byte> HostName { get; }

    public ConnectFamily Family { get; }

    /// <summary>The client's port (0 for unix sockets and the unknown family).</summary>
    public ushort Port { get; }

    /// <summary>The client's address as text (IPv4, IPv6 without Sendmail's "IPv6:" prefix, or a socket path).</summary>
    public ReadOnlySpan<byte> Address { get; }

    public string HostNameString() => Encoding.UTF8.GetString(HostName);

    public string AddressString() => Encoding.UTF8.GetString(Address);
}
