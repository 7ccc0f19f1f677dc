using System.Net.Sockets;

namespace AotMilter.Hosting;

/// <summary>
/// The I/O thread that runs the current milter callback, for a client of a network service (a store, a scanner) that
/// wants its replies read by that thread instead of by a thread of its own. A reply read by the thread whose callback
/// waits for it completes that callback right there: no second thread wakes up to read it and then wakes the I/O
/// thread to continue, which on a small machine costs more than the reply's own work. The client keeps one connection
/// per I/O thread, watched by that thread; the callbacks it gives run on the I/O thread and must be short and must
/// not block, as synchronous milter callbacks are.
/// </summary>
public abstract class IoThread
{
    [ThreadStatic]
    private static IoThread? t_current;

    /// <summary>The I/O thread this code runs on, or null on any other thread (a timer, the thread pool, a test).</summary>
    public static IoThread? Current => t_current;

    /// <summary>
    /// Calls <paramref name="onReadable"/> on this I/O thread whenever <paramref name="socket"/> has data to read (or
    /// was closed by its peer), until <see cref="Close"/>. The socket must be non-blocking, and the callback reads
    /// until the socket has nothing left (the readiness is level-triggered: what it leaves calls it again). Safe from
    /// any thread.
    /// </summary>
    public abstract void Watch(Socket socket, Action onReadable);

    /// <summary>
    /// Stops watching <paramref name="socket"/> and disposes it, on this I/O thread: its descriptor leaves the
    /// thread's set before its number can be given to another connection. Safe from any thread, more than once.
    /// </summary>
    public abstract void Close(Socket socket);

    /// <summary>
    /// Calls <paramref name="action"/> on this I/O thread once, after the events it is handling now and before it
    /// waits for more: a client whose callbacks each queue a command can send all those of one wake-up in one write
    /// (one system call here, one read for the server) instead of one each. Each call queues one more call, so a
    /// client asks once per wake-up (it keeps a flag). On another thread the action runs soon on this one. This base
    /// class, for threads that never defer, calls it at once.
    /// </summary>
    public virtual void BeforeWaiting(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        action();
    }

    /// <summary>Makes <paramref name="thread"/> the <see cref="Current"/> one of the calling thread: the host calls it once, on the thread itself.</summary>
    protected static void MakeCurrent(IoThread thread) => t_current = thread;
}
