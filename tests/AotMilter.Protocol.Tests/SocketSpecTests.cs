using System.Net;
using System.Net.Sockets;

namespace AotMilter.Protocol.Tests;

public class SocketSpecTests
{
    [Theory]
    [InlineData("unix:/run/milter.sock")]
    [InlineData("local:/run/milter.sock")]
    [InlineData("/run/milter.sock")]
    public void AUnixSocketIsWrittenThreeWays(string text)
    {
        SocketSpec spec = SocketSpec.Parse(text);

        Assert.Equal(new SocketSpec(SocketKind.Unix, "/run/milter.sock", null, 0), spec);
        Assert.Equal("unix:/run/milter.sock", spec.ToString());
        Assert.Equal(new UnixDomainSocketEndPoint("/run/milter.sock").ToString(), spec.ToConnectEndPoint().ToString());
    }

    [Fact]
    public void AnInetSocketIsPortAtHost()
    {
        SocketSpec spec = SocketSpec.Parse("inet:8891@127.0.0.1");

        Assert.Equal(new SocketSpec(SocketKind.Inet, null, "127.0.0.1", 8891), spec);
        Assert.Equal("inet:127.0.0.1:8891", spec.ToPostfixSyntax());
        Assert.Equal("inet:8891@127.0.0.1", spec.ToSendmailSyntax());
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8891), spec.ToConnectEndPoint());
    }

    [Fact]
    public void AWildcardHostIsBoundToEveryAddressAndReachedOnLoopback()
    {
        SocketSpec v4 = SocketSpec.Parse("inet:8891");
        SocketSpec v6 = SocketSpec.Parse("inet6:8891@[::]");

        Assert.Equal(new IPEndPoint(IPAddress.Any, 8891), v4.ToEndPoint());
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8891), v4.ToConnectEndPoint());
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8891), v6.ToConnectEndPoint());
    }

    [Fact]
    public void LocalhostIsReachedOnLoopback()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 10025), SocketSpec.Parse("inet:10025@localhost").ToConnectEndPoint());
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 10025), SocketSpec.Parse("inet6:10025@localhost").ToConnectEndPoint());
    }

    [Theory]
    [InlineData("")]
    [InlineData("unix:relative.sock")]
    [InlineData("inet:0@127.0.0.1")]
    [InlineData("inet:65536")]
    [InlineData("inet:port@127.0.0.1")]
    [InlineData("inet:25@::1")]
    [InlineData("inet6:25@127.0.0.1")]
    [InlineData("tcp:25")]
    public void MalformedSpecificationsAreRejectedWithAReason(string text)
    {
        Assert.False(SocketSpec.TryParse(text, out SocketSpec? spec, out string? error));
        Assert.Null(spec);
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<FormatException>(() => SocketSpec.Parse(text));
    }
}
