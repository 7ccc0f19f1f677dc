using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AotMilter.Filters.Redis;

/// <summary>
/// Where a Redis server listens and how to log in: <c>redis://HOST:PORT/DB</c> (port 6379 and database 0 by default;
/// <c>redis://:PASSWORD@HOST</c> or <c>redis://USER:PASSWORD@HOST</c> sends AUTH, percent-encoded), or
/// <c>unix:/path/redis.sock</c> with an optional <c>?db=N</c>. <see cref="ToString"/> never shows the password.
/// <see cref="Host"/> is empty for a unix socket and <see cref="UnixPath"/> null for TCP; <see cref="Database"/> 0 sends
/// no SELECT.
/// </summary>
public sealed record RedisEndpoint(string Host, int Port, string? UnixPath, int Database, string? User, string? Password)
{
    private const int DefaultPort = 6379;
    private const int MaxDatabase = 65535;

    public static bool TryParse(string text, out RedisEndpoint? endpoint, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = null;
        error = null;
        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseUnix(text[5..], text, out endpoint, out error);
        }

        if (!text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
            || !Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            error = $"'{text}' is not redis://HOST:PORT/DB or unix:/PATH[?db=N]";
            return false;
        }

        int database = 0;
        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !TryParseDatabase(path, out database))
        {
            error = $"'{text}': the database after the '/' must be a number from 0 to {MaxDatabase}";
            return false;
        }

        (string? user, string? password) = SplitUserInfo(uri.UserInfo);
        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        endpoint = new RedisEndpoint(host, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port, null, database, user, password);
        return true;
    }

    /// <summary>Where to connect: an address, a host name to resolve, or a unix socket.</summary>
    public EndPoint ToEndPoint() =>
        UnixPath is not null ? new UnixDomainSocketEndPoint(UnixPath)
        : IPAddress.TryParse(Host, out IPAddress? address) ? new IPEndPoint(address, Port)
        : new DnsEndPoint(Host, Port);

    public AddressFamily AddressFamily => UnixPath is not null ? AddressFamily.Unix : IPAddress.TryParse(Host, out IPAddress? a) ? a.AddressFamily : AddressFamily.Unspecified;

    public override string ToString() =>
        UnixPath is not null ? $"unix:{UnixPath}{(Database != 0 ? $"?db={Database}" : "")}"
        : $"redis://{(Password is null ? "" : "***@")}{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}/{Database}";

    private static bool TryParseUnix(string rest, string text, out RedisEndpoint? endpoint, out string? error)
    {
        endpoint = null;
        error = null;
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? rest : rest[..query];
        int database = 0;
        if (query >= 0 && !(rest[(query + 1)..].StartsWith("db=", StringComparison.OrdinalIgnoreCase) && TryParseDatabase(rest[(query + 4)..], out database)))
        {
            error = $"'{text}': after the path only ?db=N (0 to {MaxDatabase}) may follow";
            return false;
        }

        if (!path.StartsWith('/'))
        {
            error = $"'{text}': the socket path must be absolute (unix:/run/redis/redis.sock)";
            return false;
        }

        endpoint = new RedisEndpoint("", 0, path, database, null, null);
        return true;
    }

    private static bool TryParseDatabase(string text, out int database) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out database) && database <= MaxDatabase;

    private static (string? User, string? Password) SplitUserInfo(string userInfo)
    {
        if (userInfo.Length == 0)
        {
            return (null, null);
        }

        int colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            // redis://PASSWORD@host, as several clients accept it.
            return (null, Uri.UnescapeDataString(userInfo));
        }

        string user = Uri.UnescapeDataString(userInfo[..colon]);
        return (user.Length == 0 ? null : user, Uri.UnescapeDataString(userInfo[(colon + 1)..]));
    }
}
