using System.Net;
using System.Net.Sockets;

namespace AotMilter.Protocol;

/// <summary>The kinds of listening socket a milter can use.</summary>
public enum SocketKind
{
    Unix,
    Inet,
    Inet6,
}

/// <summary>
/// A milter socket in Sendmail's syntax (both the daemon that listens and an MTA-side client that connects use it): <c>unix:/path</c>, <c>local:/path</c>, a bare <c>/path</c>,
/// <c>inet:PORT@HOST</c>, <c>inet:PORT</c> (all IPv4 addresses), <c>inet6:PORT@HOST</c>, <c>inet6:PORT</c>.
/// </summary>
public sealed record SocketSpec(SocketKind Kind, string? Path, string? Host, int Port)
{
    public static SocketSpec Parse(string text)
    {
        if (!TryParse(text, out SocketSpec? spec, out string? error))
        {
            throw new FormatException(error);
        }

        return spec;
    }

    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SocketSpec? spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        spec = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "socket is empty; expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST";
            return false;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string proto = colon < 0 ? "" : text[..colon];
        string rest = colon < 0 ? text : text[(colon + 1)..];
        switch (proto)
        {
            case "" when text.StartsWith('/'):
                return UnixPath(text, out spec, out error);
            case "unix":
            case "local":
                return UnixPath(rest, out spec, out error);
            case "inet":
                return Inet(SocketKind.Inet, rest, text, out spec, out error);
            case "inet6":
                return Inet(SocketKind.Inet6, rest, text, out spec, out error);
            default:
                error = $"'{text}' is not a socket: expected unix:/path, local:/path, /path, inet:PORT@HOST, inet:PORT or inet6:PORT@HOST";
                return false;
        }
    }

    /// <summary>The same socket as Postfix writes it in smtpd_milters (<c>unix:/path</c> or <c>inet:HOST:PORT</c>).</summary>
    public string ToPostfixSyntax() => Kind switch
    {
        SocketKind.Unix => $"unix:{Path}",
        SocketKind.Inet => $"inet:{ConnectHost}:{Port}",
        _ => $"inet:[{ConnectHost}]:{Port}",
    };

    /// <summary>The same socket as Sendmail writes it in INPUT_MAIL_FILTER's S= (<c>unix:/path</c> or <c>inet:PORT@HOST</c>).</summary>
    public string ToSendmailSyntax() => Kind switch
    {
        SocketKind.Unix => $"unix:{Path}",
        SocketKind.Inet => $"inet:{Port}@{ConnectHost}",
        _ => $"inet6:{Port}@{ConnectHost}",
    };

    /// <summary>Where an MTA on this host would connect: the listening address, or loopback for a wildcard.</summary>
    public string ConnectHost => Host switch
    {
        null or "" or "0.0.0.0" or "*" => Kind == SocketKind.Inet6 ? "::1" : "127.0.0.1",
        "::" => "::1",
        _ => Host,
    };

    public override string ToString() => Kind switch
    {
        SocketKind.Unix => $"unix:{Path}",
        SocketKind.Inet => Host is null ? $"inet:{Port}" : $"inet:{Port}@{Host}",
        _ => Host is null ? $"inet6:{Port}" : $"inet6:{Port}@{Host}",
    };

    /// <summary>The endpoint to bind.</summary>
    public EndPoint ToEndPoint()
    {
        if (Kind == SocketKind.Unix)
        {
            return new UnixDomainSocketEndPoint(Path!);
        }

        IPAddress address = Host switch
        {
            null or "" or "*" => Kind == SocketKind.Inet ? IPAddress.Any : IPAddress.IPv6Any,
            "localhost" => Kind == SocketKind.Inet ? IPAddress.Loopback : IPAddress.IPv6Loopback,
            _ => IPAddress.Parse(Host),
        };
        return new IPEndPoint(address, Port);
    }

    /// <summary>The endpoint a client on this host connects to (see <see cref="ConnectHost"/>).</summary>
    public EndPoint ToConnectEndPoint()
    {
        if (Kind == SocketKind.Unix)
        {
            return new UnixDomainSocketEndPoint(Path!);
        }

        IPAddress address = ConnectHost == "localhost"
            ? (Kind == SocketKind.Inet ? IPAddress.Loopback : IPAddress.IPv6Loopback)
            : IPAddress.Parse(ConnectHost);
        return new IPEndPoint(address, Port);
    }

    private static bool UnixPath(string path, out SocketSpec? spec, out string? error)
    {
        spec = null;
        if (!path.StartsWith('/'))
        {
            error = $"unix socket path '{path}' must be absolute";
            return false;
        }

        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
        {
            error = $"unix socket path '{path}' is longer than the 107 bytes the kernel allows";
            return false;
        }

        error = null;
        spec = new SocketSpec(SocketKind.Unix, path, null, 0);
        return true;
    }

    private static bool Inet(SocketKind kind, string rest, string text, out SocketSpec? spec, out string? error)
    {
        spec = null;
        int at = rest.IndexOf('@', StringComparison.Ordinal);
        string portText = at < 0 ? rest : rest[..at];
        string? host = at < 0 ? null : rest[(at + 1)..];
        if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
        {
            error = $"'{text}': port '{portText}' is not a number from 1 to 65535";
            return false;
        }

        if (host is not null)
        {
            if (host.Length > 2 && host[0] == '[' && host[^1] == ']')
            {
                host = host[1..^1];
            }

            bool ok = host is "localhost" or "*"
                || (IPAddress.TryParse(host, out IPAddress? ip)
                    && (kind == SocketKind.Inet ? ip.AddressFamily == AddressFamily.InterNetwork : ip.AddressFamily == AddressFamily.InterNetworkV6));
            if (!ok)
            {
                error = kind == SocketKind.Inet
                    ? $"'{text}': host '{host}' is not an IPv4 address (or localhost)"
                    : $"'{text}': host '{host}' is not an IPv6 address (or localhost)";
                return false;
            }
        }

        error = null;
        spec = new SocketSpec(kind, null, host, port);
        return true;
    }
}
