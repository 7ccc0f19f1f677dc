using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace AotMilter.Testing;

/// <summary>
/// Two connected stream sockets: socketpair(AF_UNIX, SOCK_STREAM), or a loopback TCP connection if that fails. Either
/// way the milter runs on a real socket, exactly as it does for an MTA.
/// </summary>
internal static partial class SocketPair
{
    private const int AfUnix = 1;
    private const int SockStream = 1;

    public static (Socket First, Socket Second) Create()
    {
        Span<int> fds = stackalloc int[2];
        if (socketpair(AfUnix, SockStream, 0, fds) == 0)
        {
            return (FromDescriptor(fds[0]), FromDescriptor(fds[1]));
        }

        return CreateLoopback();
    }

    private static Socket FromDescriptor(int fd) => new(new SafeSocketHandle(fd, ownsHandle: true));

    private static (Socket, Socket) CreateLoopback()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            client.Connect(listener.LocalEndPoint!);
            Socket server = listener.Accept();
            client.NoDelay = true;
            server.NoDelay = true;
            return (client, server);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, Span<int> sv);
}
