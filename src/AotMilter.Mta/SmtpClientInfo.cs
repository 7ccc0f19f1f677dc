using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>The SMTP client the kit pretends to be: what the MTA reports at connect, and the HELO name.</summary>
public sealed record SmtpClientInfo
{
    /// <summary>The client's host name as the MTA resolved it (Postfix sends "[address]" when it could not).</summary>
    public string HostName { get; init; } = "client.example.org";

    /// <summary>An IPv4 or IPv6 address, or a unix socket path (then <see cref="Port"/> is ignored).</summary>
    public string Address { get; init; } = "192.0.2.10";

    public ushort Port { get; init; } = 51234;

    /// <summary>The name given with EHLO.</summary>
    public string Helo { get; init; } = "client.example.org";

    internal ConnectFamily Family => Address.StartsWith('/') ? ConnectFamily.Unix
        : Address.Contains(':', StringComparison.Ordinal) ? ConnectFamily.IPv6
        : ConnectFamily.IPv4;
}
