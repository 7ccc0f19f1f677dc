using System.Net.Sockets;
using AotMilter.Hosting;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>
/// An <see cref="EventLoop"/> as the <see cref="IoThread"/> of the callbacks it runs: a watched socket joins the
/// loop's epoll set like a milter connection, and its reader runs on the loop's thread between connections' events.
/// </summary>
internal sealed class LoopIoThread(EventLoop loop) : IoThread
{
    // Loop thread only: each watched socket's registration.
    private readonly Dictionary<Socket, ulong> _watched = new(ReferenceEqualityComparer.Instance);

    /// <summary>Makes this the calling thread's <see cref="IoThread.Current"/>: the loop's own thread, at its start.</summary>
    public void Enter() => MakeCurrent(this);

    public override void Watch(Socket socket, Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(onReadable);
        if (!loop.IsCurrentThread)
        {
            loop.Post(new LoopAction(() => Watch(socket, onReadable)));
            return;
        }

        if (_watched.ContainsKey(socket))
        {
            return;
        }

        int fd;
        try
        {
            fd = (int)socket.Handle;
        }
        catch (ObjectDisposedException)
        {
            // Closed before the loop got to it: nothing to watch.
            return;
        }

        _watched[socket] = loop.Register(new ReadableSocket(onReadable), fd, Libc.EPOLLIN);
    }

    public override void BeforeWaiting(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (!loop.IsCurrentThread)
        {
            loop.Post(new LoopAction(action));
            return;
        }

        loop.BeforeWaiting(action);
    }

    public override void Close(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!loop.IsCurrentThread)
        {
            loop.Post(new LoopAction(() => Close(socket)));
            return;
        }

        if (_watched.Remove(socket, out ulong token))
        {
            // Still open: the descriptor's number is this socket's until the Dispose below.
            loop.Unregister((int)socket.Handle, token);
        }

        socket.Dispose();
    }

    private sealed class ReadableSocket(Action onReadable) : IEventHandler
    {
        public void OnEvents(uint events) => onReadable();

        public void OnTick(long now)
        {
        }
    }
}
