using System.Text;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// The SMTP client as the MTA reports it at connect: the parsed connect command, seen from a filter. Spans point into
/// the receive buffer: valid during the call.
/// </summary>
public readonly ref struct ConnectInfo(ConnectCommand command)
{
    private readonly ConnectCommand _command = command;

    /// <summary>The client's host name, or "[address]" when the MTA could not resolve it (Postfix).</summary>
    public ReadOnlySpan<byte> HostName => _command.HostName;

    public ConnectFamily Family => _command.Family;

    /// <summary>The client's port (0 for unix sockets and the unknown family).</summary>
    public ushort Port => _command.Port;

    /// <summary>
    /// The client's address (IPv4, IPv6 without Sendmail's "IPv6:" prefix, or a socket path): <c>Address.Bytes</c>
    /// without allocating, <c>Address.ToString()</c> as a string.
    /// </summary>
    public Utf8Address Address => new(_command.Address);

    public string HostNameString() => Encoding.UTF8.GetString(HostName);

    [Obsolete("Use Address.ToString(), which returns the same text.")]
    public string AddressString() => Address.ToString();
}
