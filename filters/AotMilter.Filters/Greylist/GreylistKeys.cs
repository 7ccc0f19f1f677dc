using System.Net;
using System.Net.Sockets;
using AotMilter.Filters.Stores;

namespace AotMilter.Filters.Greylist;

/// <summary>
/// The keys greylisting remembers: the client's network (its address with the host bits cleared, so that a sender's
/// pool of outbound servers in one /24 counts as one client) and the triplet of that network, the sender and the
/// recipient, each address spelled as the stores spell it (<see cref="StoreKeys"/>).
/// </summary>
public static class GreylistKeys
{
    /// <summary>The client network, <c>192.0.2.0/24</c> or <c>2001:db8:1:2::/64</c>.</summary>
    public static string Network(IPAddress address, int ipv4Prefix, int ipv6Prefix)
    {
        ArgumentNullException.ThrowIfNull(address);
        int prefix = address.AddressFamily == AddressFamily.InterNetwork ? ipv4Prefix : ipv6Prefix;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        for (int i = 0; i < length; i++)
        {
            int bits = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }

        return $"{new IPAddress(bytes)}/{prefix}";
    }

    /// <summary>The triplet: network, sender (empty for bounces) and recipient, separated by spaces (no address has one unquoted).</summary>
    public static string Triplet(string network, string sender, string recipient) =>
        $"{network} {StoreKeys.Address(sender)} {StoreKeys.Address(recipient)}";
}
