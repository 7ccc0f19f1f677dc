using System.Collections.Concurrent;
using System.Diagnostics;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>Something with a descriptor in an <see cref="EventLoop"/>: told on the loop's thread when it is ready.</summary>
internal interface IEventHandler
{
    void OnEvents(uint events);

    /// <summary>
    /// Once a second while the loop has handlers, and sooner when a handler asked for it
    /// (<see cref="EventLoop.RequestTick"/>): the place for deadlines.
    /// </summary>
    void OnTick(long now);
}

/// <summary>Work handed to a loop from another thread (a finished async callback, a new connection, shutdown).</summary>
internal interface ILoopWork
{
    void Execute();
}

/// <summary>
/// One thread, one epoll set. Ready descriptors are handled right here, on this thread: reading a frame, running the
/// filters and sending the reply cost one recv and one send, with no thread-pool hop, lock or timer per round trip.
/// The price is the event-loop rule: a synchronous filter callback must not block (a filter that waits for the
/// network returns a <see cref="ValueTask{TResult}"/>, and the loop serves other connections meanwhile). Other
/// threads reach the loop only through <see cref="Post"/>. The network client such a callback waits for can have its
/// socket served by the loop too (<see cref="LoopIoThread"/>), so that its reply resumes the callback here.
/// </summary>
internal sealed unsafe class EventLoop
{
    private const int MaxEvents = 64;
    private const int TickMilliseconds = 1000;
    private const ulong WakeToken = ulong.MaxValue;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<ILoopWork> _posted = new();

    // Work the loop posts to itself (a callback completed by a reply this thread read): run before the next wait,
    // without the eventfd's two system calls.
    private readonly Queue<ILoopWork> _postedHere = new();

    // Actions for the end of this wake-up (LoopIoThread.BeforeWaiting): run after everything ready was handled.
    private readonly Queue<Action> _beforeWaiting = new();
    private int _wakeSignalled;

    // Handlers by slot; a token is (generation << 32 | slot), so a stale event cannot reach a slot's next owner.
    private IEventHandler?[] _handlers = new IEventHandler?[16];
    private uint[] _generations = new uint[16];
    private int[] _free = new int[16];
    private int _freeCount;
    private int _used;
    private int _count;
    private long _nextTick;
    private BusyPoll _busyPoll;
    private readonly Func<bool>? _otherWorkWaiting;

    /// <param name="index">The loop's number in its group (its thread's name).</param>
    /// <param name="busyPoll">How long the loop looks for ready descriptors before it sleeps, under load (<see cref="BusyPoll"/>; zero: never).</param>
    /// <param name="otherWorkWaiting">Whether other threads of the process wait for a core: then the loop does not poll.</param>
    public EventLoop(int index, TimeSpan busyPoll = default, Func<bool>? otherWorkWaiting = null)
    {
        _otherWorkWaiting = otherWorkWaiting;
        _busyPoll = new BusyPoll((long)(busyPoll.TotalSeconds * Stopwatch.Frequency));
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Libc.LastError}");
        }

        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0 || Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, _wakeFd, Libc.EPOLLIN, WakeToken) != 0)
        {
            throw new IOException($"eventfd failed: errno {Libc.LastError}");
        }

        Index = index;
        _thread = new Thread(Run) { IsBackground = true, Name = $"aotmilter-io-{index}" };
        _thread.UnsafeStart();
    }

    public int Index { get; }

    /// <summary>Coarse monotonic milliseconds, read once per wake-up.</summary>
    public long Now { get; private set; } = Environment.TickCount64;

    /// <summary>Handlers registered now.</summary>
    public int Count => _count;

    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>Runs <paramref name="work"/> on the loop's thread, soon (never inside this call). Safe from any thread.</summary>
    public void Post(ILoopWork work)
    {
        if (Thread.CurrentThread == _thread)
        {
            _postedHere.Enqueue(work);
            return;
        }

        _posted.Enqueue(work);
        if (Interlocked.Exchange(ref _wakeSignalled, 1) == 0)
        {
            ulong one = 1;
            Libc.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> once, after the events and work of this wake-up and before the loop waits again.
    /// Loop thread only.
    /// </summary>
    public void BeforeWaiting(Action action) => _beforeWaiting.Enqueue(action);

    /// <summary>Adds <paramref name="fd"/> for <paramref name="events"/>; returns the token for later calls. Loop thread only.</summary>
    public ulong Register(IEventHandler handler, int fd, uint events)
    {
        int slot = _freeCount > 0 ? _free[--_freeCount] : _used++;
        if (slot == _handlers.Length)
        {
            Array.Resize(ref _handlers, slot * 2);
            Array.Resize(ref _generations, slot * 2);
            Array.Resize(ref _free, slot * 2);
        }

        _handlers[slot] = handler;
        ulong token = ((ulong)_generations[slot] << 32) | (uint)slot;
        if (Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, fd, events, token) != 0)
        {
            int error = Libc.LastError;
            Release(slot);
            throw new IOException($"epoll_ctl(ADD) failed: errno {error}");
        }

        if (_count++ == 0)
        {
            _nextTick = Environment.TickCount64 + TickMilliseconds;
        }

        return token;
    }

    /// <summary>Changes what <paramref name="fd"/> waits for. Loop thread only.</summary>
    public bool Modify(int fd, ulong token, uint events) => Libc.EpollControl(_epoll, Libc.EPOLL_CTL_MOD, fd, events, token) == 0;

    /// <summary>Removes <paramref name="fd"/> (before it is closed) and its handler. Loop thread only.</summary>
    public void Unregister(int fd, ulong token)
    {
        RemoveDescriptor(fd);
        Release(token);
    }

    /// <summary>
    /// Stops watching <paramref name="fd"/> but keeps its handler, which still gets ticks (a connection whose MTA
    /// hung up while a callback runs). Call <see cref="Release(ulong)"/> later, not <see cref="Unregister"/>: the
    /// descriptor's number may belong to another connection by then. Loop thread only.
    /// </summary>
    public void RemoveDescriptor(int fd) => Libc.EpollControl(_epoll, Libc.EPOLL_CTL_DEL, fd, 0, 0);

    /// <summary>Ticks the handlers no later than <paramref name="at"/> (loop milliseconds). Loop thread only.</summary>
    public void RequestTick(long at)
    {
        if (at < _nextTick)
        {
            _nextTick = at;
        }
    }

    /// <summary>Forgets the handler of <paramref name="token"/>. Loop thread only.</summary>
    public void Release(ulong token)
    {
        int slot = (int)(uint)token;
        if (slot < _used && _handlers[slot] is not null && _generations[slot] == (uint)(token >> 32))
        {
            Release(slot);
            _count--;
        }
    }

    /// <summary>Calls <paramref name="action"/> for every handler of this loop. Loop thread only.</summary>
    public void ForEach<TState>(Action<IEventHandler, TState> action, TState state)
    {
        for (int slot = 0; slot < _used; slot++)
        {
            if (_handlers[slot] is { } handler)
            {
                action(handler, state);
            }
        }
    }

    private void Release(int slot)
    {
        _handlers[slot] = null;
        _generations[slot]++;
        _free[_freeCount++] = slot;
    }

    private void Run()
    {
        int size = Libc.EpollEventSize;
        int dataOffset = Libc.EpollDataOffset;
        byte* events = stackalloc byte[MaxEvents * 16];
        new LoopIoThread(this).Enter();
        while (true)
        {
            RunWorkOfThisWakeUp();
            int timeout = _count == 0 ? -1 : (int)Math.Clamp(_nextTick - Environment.TickCount64, 0, TickMilliseconds);
            int ready = Wait(events, timeout);
            Now = Environment.TickCount64;
            if (ready < 0)
            {
                int error = Libc.LastError;
                if (error != Libc.EINTR)
                {
                    // Cannot happen with a valid epoll descriptor and buffer; if it does, the thread must not die
                    // (that would end the process) nor spin.
                    AotMilter.Server.Guard.Report(new IOException($"epoll_wait failed: {Libc.Describe(error)}"));
                    Thread.Sleep(100);
                }

                continue;
            }

            for (int i = 0; i < ready; i++)
            {
                byte* ev = events + (i * size);
                ulong token = *(ulong*)(ev + dataOffset);
                if (token == WakeToken)
                {
                    DrainPosted();
                    continue;
                }

                int slot = (int)(uint)token;
                if (_handlers[slot] is { } handler && _generations[slot] == (uint)(token >> 32))
                {
                    Guard(handler, *(uint*)ev);
                }
            }

            if (_count > 0 && Now >= _nextTick)
            {
                // Set before the handlers run: a handler may ask for an earlier tick again.
                _nextTick = Now + TickMilliseconds;
                for (int slot = 0; slot < _used; slot++)
                {
                    if (_handlers[slot] is { } handler)
                    {
                        GuardTick(handler, Now);
                    }
                }
            }
        }
    }

    /// <summary>
    /// What the loop posted to itself, then the before-waiting actions; again while either made more (an action that
    /// completes a callback posts its connection).
    /// </summary>
    private void RunWorkOfThisWakeUp()
    {
        do
        {
            while (_postedHere.TryDequeue(out ILoopWork? work))
            {
                Execute(work);
            }

            while (_beforeWaiting.TryDequeue(out Action? action))
            {
                Execute(action);
            }
        }
        while (_postedHere.Count > 0);
    }

    /// <summary>epoll_wait, after looking for ready descriptors without sleeping for a while when the loop is under load.</summary>
    private int Wait(byte* events, int timeout)
    {
        int ready;
        long started = Stopwatch.GetTimestamp();
        if (timeout != 0 && _count > 0 && _busyPoll.ShouldPoll() && _otherWorkWaiting?.Invoke() != true)
        {
            long until = started + _busyPoll.Budget;
            do
            {
                ready = Libc.EpollWait(_epoll, events, MaxEvents, 0);
                if (ready != 0)
                {
                    _busyPoll.Polled(found: ready > 0);
                    _busyPoll.Waited(Stopwatch.GetTimestamp() - started);
                    return ready;
                }

                // sched_yield: whatever else can run on this core (the MTA, the store) goes first.
                Thread.Yield();
            }
            while (Stopwatch.GetTimestamp() < until);

            _busyPoll.Polled(found: false);
        }

        ready = Libc.EpollWait(_epoll, events, MaxEvents, timeout);
        _busyPoll.Waited(Stopwatch.GetTimestamp() - started);
        return ready;
    }

    private void DrainPosted()
    {
        ulong value;
        Libc.Read(_wakeFd, (byte*)&value, sizeof(ulong));

        // Cleared before draining: work posted from now on signals again, so nothing waits for the next event.
        Volatile.Write(ref _wakeSignalled, 0);
        while (_posted.TryDequeue(out ILoopWork? work))
        {
            Execute(work);
        }
    }

    private static void Execute(ILoopWork work)
    {
        try
        {
            work.Execute();
        }
        catch (Exception ex)
        {
            AotMilter.Server.Guard.Report(ex);
        }
    }

    private static void Execute(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            AotMilter.Server.Guard.Report(ex);
        }
    }

    private static void GuardTick(IEventHandler handler, long now)
    {
        try
        {
            handler.OnTick(now);
        }
        catch (Exception ex)
        {
            AotMilter.Server.Guard.Report(ex);
        }
    }

    private static void Guard(IEventHandler handler, uint events)
    {
        try
        {
            handler.OnEvents(events);
        }
        catch (Exception ex)
        {
            // Handlers deal with their own failures; this only keeps the loop alive for everybody else.
            AotMilter.Server.Guard.Report(ex);
        }
    }
}
