using System.Globalization;
using System.Net;
using System.Net.Sockets;
using AotMilter.Protocol;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// Where a scanner daemon listens, in the daemon's own socket syntax (<c>unix:/run/clamav/clamd.ctl</c>,
/// <c>inet:3310@127.0.0.1</c>, <c>inet6:783@::1</c>; a host may be a name) or, for an HTTP scanner, an
/// <c>http://HOST:PORT</c> URL. Parsing reuses <see cref="SocketSpec"/>, so a scanner is written as the milter socket is.
/// </summary>
public sealed class ScannerAddress
{
    private ScannerAddress(string text, EndPoint endPoint, string hostHeader)
    {
        Text = text;
        EndPoint = endPoint;
        HostHeader = hostHeader;
    }

    /// <summary>The address as configured (for log lines and errors).</summary>
    public string Text { get; }

    /// <summary>Where to connect: a unix socket, an IP endpoint, or a host name resolved at connect time.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>The HTTP Host header for this address (<c>HOST:PORT</c>, or <c>localhost</c> for a unix socket).</summary>
    public string HostHeader { get; }

    public bool IsUnix => EndPoint is UnixDomainSocketEndPoint;

    /// <summary>A socket in the milter socket syntax.</summary>
    public static bool TryParseSocket(string text, out ScannerAddress? address, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        address = null;
        if (!SocketSpec.TryParse(text.Trim(), out SocketSpec? spec, out error))
        {
            return false;
        }

        if (spec.Kind == SocketKind.Unix)
        {
            address = new ScannerAddress(spec.ToString(), new UnixDomainSocketEndPoint(spec.Path!), "localhost");
            return true;
        }

        if (spec.Host is null or "" or "*" or "0.0.0.0" or "::")
        {
            error = $"'{text}' names no host to connect to; write {(spec.Kind == SocketKind.Inet ? "inet" : "inet6")}:{spec.Port}@HOST";
            return false;
        }

        address = Inet(spec.ToString(), spec.Host, spec.Port);
        return true;
    }

    /// <summary>An <c>http://HOST:PORT</c> URL (no path: the protocol names its own), or a socket as <see cref="TryParseSocket"/> reads it.</summary>
    public static bool TryParseHttp(string text, out ScannerAddress? address, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        if (!trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseSocket(trimmed, out address, out error);
        }

        address = null;
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0 || uri.AbsolutePath is not ("/" or "")
            || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            error = $"'{text}' is not an http://HOST:PORT address (no path, no user)";
            return false;
        }

        error = null;
        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        address = Inet(trimmed, host, uri.Port);
        return true;
    }

    public override string ToString() => Text;

    private static ScannerAddress Inet(string text, string host, int port)
    {
        string hostHeader = (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);
        EndPoint endPoint = host == "localhost"
            ? new IPEndPoint(IPAddress.Loopback, port)
            : IPAddress.TryParse(host, out IPAddress? ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new ScannerAddress(text, endPoint, hostHeader);
    }
}
