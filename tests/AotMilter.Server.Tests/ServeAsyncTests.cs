using System.Net.Sockets;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace AotMilter.Server.Tests;

public class ServeAsyncTests
{
    [Fact]
    public async Task ServeAsyncRunsOneAlreadyConnectedSocketUntilTheMtaQuits()
    {
        var probe = new Probe();
        string directory = Directory.CreateTempSubdirectory("aotm-").FullName;
        try
        {
            await using var server = new MilterServer(new FilterChain([probe.Register()]),
                new MilterServerOptions { Socket = SocketSpec.Parse("unix:/not/listened/on") }, NullLoggerFactory.Instance);
            (Socket mtaSide, Socket milterSide) = await ConnectedPairAsync(Path.Combine(directory, "pair.sock"));

            Task serving = server.ServeAsync(milterSide);
            await using (var mta = new MilterClient(mtaSide))
            {
                await mta.NegotiateAsync();
                Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("client", ConnectFamily.IPv4, 25, "192.0.2.1"));
                Assert.Equal(1, server.ConnectionsOpen);
                await mta.QuitAsync();
                await serving.WaitAsync(MilterClient.DefaultTimeout);
            }

            Assert.Equal(["connect client IPv4 25 192.0.2.1", "close"], probe.Events);
            Assert.Equal(0, server.ConnectionsOpen);
            Assert.Equal(1, server.ConnectionsAccepted);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(Socket, Socket)> ConnectedPairAsync(string path)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return (client, await listener.AcceptAsync());
    }
}
