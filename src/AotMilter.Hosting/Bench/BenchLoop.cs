using System.Diagnostics;
using AotMilter.Server.Interop;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// One thread of the load generator: an epoll set over its share of the connections, driven as milter-load drives
/// its own (a send and a recv per round trip on raw non-blocking descriptors; no task, no socket object, no thread-pool
/// hop), so the generator costs less CPU than the milters it measures on the same cores. Reply timeouts, connect
/// retries and the release of idle connections are looked at on a short tick. The thread ends when every one of its
/// connections has finished.
/// </summary>
internal sealed unsafe class BenchLoop
{
    private const int MaxEvents = 64;

    /// <summary>Also the granularity of connect retries (1 to 20 ms of backoff while a listen backlog is full).</summary>
    private const int TickMilliseconds = 5;

    private readonly int _epoll;
    private readonly List<BenchConnection> _connections = [];
    private readonly Thread _thread;
    private int _running;

    public BenchLoop(int index)
    {
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: {Libc.Describe(Libc.LastError)}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"bench-{index}" };
    }

    /// <summary>Gives <paramref name="connection"/> to this loop; before <see cref="Start"/>.</summary>
    public int Add(BenchConnection connection)
    {
        _connections.Add(connection);
        return _connections.Count - 1;
    }

    public void Start() => _thread.UnsafeStart();

    public void Join() => _thread.Join();

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/> on behalf of connection <paramref name="token"/>.</summary>
    public bool Register(int fd, uint events, int token) => Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, fd, events, (ulong)token) == 0;

    public bool Modify(int fd, uint events, int token) => Libc.EpollControl(_epoll, Libc.EPOLL_CTL_MOD, fd, events, (ulong)token) == 0;

    /// <summary>A connection has nothing more to send: the loop ends after its last one.</summary>
    public void Finished() => _running--;

    private void Run()
    {
        _running = _connections.Count;
        foreach (BenchConnection connection in _connections)
        {
            connection.Start();
        }

        int size = Libc.EpollEventSize;
        int dataOffset = Libc.EpollDataOffset;
        byte* events = stackalloc byte[MaxEvents * 16];
        long tickTicks = Stopwatch.Frequency * TickMilliseconds / 1000;
        long nextTick = Stopwatch.GetTimestamp() + tickTicks;
        while (_running > 0)
        {
            int ready = Libc.EpollWait(_epoll, events, MaxEvents, TickMilliseconds);
            if (ready < 0 && Libc.LastError != Libc.EINTR)
            {
                throw new IOException($"epoll_wait failed: {Libc.Describe(Libc.LastError)}");
            }

            for (int i = 0; i < ready; i++)
            {
                byte* ev = events + (i * size);
                int token = (int)*(ulong*)(ev + dataOffset);
                _connections[token].OnEvents(*(uint*)ev);
            }

            long now = Stopwatch.GetTimestamp();
            if (now >= nextTick)
            {
                nextTick = now + tickTicks;
                foreach (BenchConnection connection in _connections)
                {
                    connection.OnTick(now);
                }
            }
        }

        Libc.Close(_epoll);
    }
}
