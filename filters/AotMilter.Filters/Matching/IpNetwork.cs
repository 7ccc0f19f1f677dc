using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.Filters.Matching;

/// <summary>An IPv4 or IPv6 network in CIDR notation (<c>192.0.2.0/24</c>, <c>2001:db8::/32</c>), or one address.</summary>
public sealed class IpNetwork
{
    private readonly byte[] _network;
    private readonly int _prefix;

    private IpNetwork(byte[] network, int prefix, AddressFamily family)
    {
        _network = network;
        _prefix = prefix;
        Family = family;
    }

    public AddressFamily Family { get; }

    /// <summary>Parses <c>address</c> or <c>address/prefix</c>; host bits set in the address are an error (a typo, usually).</summary>
    public static bool TryParse(string text, out IpNetwork? network, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        network = null;
        error = null;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out IPAddress? address) || (addressText.Contains(':', StringComparison.Ordinal) is false && addressText.Count(c => c == '.') != 3))
        {
            error = $"'{text}' is not an IP address or network";
            return false;
        }

        address = Normalize(address);
        byte[] bytes = address.GetAddressBytes();
        int bits = bytes.Length * 8;
        int prefix = bits;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            error = $"'{text}': the prefix length must be 0 to {bits}";
            return false;
        }

        for (int i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] & ~Mask(prefix, i)) != 0)
            {
                error = $"'{text}' has host bits set; did you mean {new IPAddress(Apply(bytes, prefix))}/{prefix}?";
                return false;
            }
        }

        network = new IpNetwork(bytes, prefix, address.AddressFamily);
        return true;
    }

    /// <summary>True when <paramref name="address"/> is in this network (IPv4-mapped IPv6 addresses count as IPv4).</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Normalize(address);
        if (address.AddressFamily != Family)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        for (int i = 0; i < length; i++)
        {
            byte mask = Mask(_prefix, i);
            if ((bytes[i] & mask) != (_network[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <see cref="ParseClient(ReadOnlySpan{char})"/> of the address as the MTA sent it (UTF-8), decoded on the stack:
    /// a connect callback gets the address object and no string besides.
    /// </summary>
    public static IPAddress? ParseClient(ReadOnlySpan<byte> utf8)
    {
        // "IPv6:", brackets, the longest IPv6 text (45) and a zone: longer is no address.
        const int MaxClientText = 128;
        if (utf8.Length > MaxClientText)
        {
            return null;
        }

        Span<char> text = stackalloc char[MaxClientText];
        return ParseClient(text[..Encoding.UTF8.GetChars(utf8, text)]);
    }

    /// <summary>The address as the MTA reports it (Sendmail writes "IPv6:" before IPv6 addresses), or null.</summary>
    public static IPAddress? ParseClient(ReadOnlySpan<char> text)
    {
        if (text.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..];
        }

        if (text.Length > 2 && text[0] == '[' && text[^1] == ']')
        {
            text = text[1..^1];
        }

        return IPAddress.TryParse(text, out IPAddress? address) ? Normalize(address) : null;
    }

    public override string ToString() => $"{new IPAddress(_network)}/{_prefix}";

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static byte Mask(int prefix, int byteIndex)
    {
        int bits = Math.Clamp(prefix - (byteIndex * 8), 0, 8);
        return (byte)(0xFF << (8 - bits));
    }

    private static byte[] Apply(byte[] bytes, int prefix)
    {
        byte[] result = (byte[])bytes.Clone();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] &= Mask(prefix, i);
        }

        return result;
    }
}
