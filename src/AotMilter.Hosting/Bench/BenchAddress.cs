using System.Net;
using System.Net.Sockets;

namespace AotMilter.Hosting.Bench;

/// <summary>The milter's address as the kernel takes it: address family and sockaddr bytes, made once per run.</summary>
internal sealed class BenchAddress
{
    private BenchAddress(int family, byte[] bytes, bool isTcp)
    {
        Family = family;
        Bytes = bytes;
        IsTcp = isTcp;
    }

    public int Family { get; }

    public byte[] Bytes { get; }

    public bool IsTcp { get; }

    public static BenchAddress From(EndPoint endPoint)
    {
        // SocketAddress holds the platform's native sockaddr (what Socket.Connect itself hands to connect(2)).
        SocketAddress address = endPoint.Serialize();
        int family = endPoint.AddressFamily switch
        {
            AddressFamily.Unix => 1,
            AddressFamily.InterNetwork => 2,
            AddressFamily.InterNetworkV6 => 10,
            var other => throw new NotSupportedException($"address family {other}"),
        };
        return new BenchAddress(family, address.Buffer[..address.Size].ToArray(), isTcp: family != 1);
    }
}
