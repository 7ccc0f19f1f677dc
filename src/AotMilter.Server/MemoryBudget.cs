using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The process's budget for the bytes peers make it hold beyond each connection's fixed working set (large frame
/// buffers, a chain's copy of the message). Every such buffer is reserved here before it is allocated and given back
/// when it is dropped, so one peer, or many, cannot take the box's memory: a reservation that does not fit fails,
/// and the caller refuses the frame, message or connection instead.
/// </summary>
public sealed class MemoryBudget(long limit) : IMemoryReservation
{
    // Giving back this much asks for the heap to be trimmed: the GC keeps freed memory committed for reuse,
    // and a process that held a burst of large frames would otherwise show that peak as its size for a long time.
    private const long TrimThreshold = 1024 * 1024;
    private const int TrimDelayMilliseconds = 1000;

    private long _used;
    private long _releasedSinceTrim;
    private int _trimScheduled;
    private Timer? _trimTimer;

    /// <summary>The most that may be reserved at once.</summary>
    public long Limit { get; } = limit;

    /// <summary>Reserved now.</summary>
    public long Used => Volatile.Read(ref _used);

    /// <summary>True when <paramref name="bytes"/> more would fit now.</summary>
    public bool HasRoomFor(long bytes) => Volatile.Read(ref _used) + bytes <= Limit;

    /// <summary>Reserves <paramref name="bytes"/>; false (and nothing reserved) when they do not fit.</summary>
    public bool TryReserve(long bytes)
    {
        if (bytes <= 0)
        {
            return true;
        }

        long used = Volatile.Read(ref _used);
        while (true)
        {
            if (used + bytes > Limit)
            {
                return false;
            }

            long seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                return true;
            }

            used = seen;
        }
    }

    /// <summary>Gives back what <see cref="TryReserve"/> took.</summary>
    public void Release(long bytes)
    {
        if (bytes > 0)
        {
            Interlocked.Add(ref _used, -bytes);

            // Counted across releases: a few hundred connections each giving back just under a megabyte add up.
            if (Interlocked.Add(ref _releasedSinceTrim, bytes) >= TrimThreshold)
            {
                Interlocked.Exchange(ref _releasedSinceTrim, 0);
                RequestTrim();
            }
        }
    }

    /// <summary>
    /// Returns freed memory to the system a moment later (once for a burst of releases): a full, compacting
    /// collection that decommits what it frees. Rare by construction, since only large releases ask for it.
    /// </summary>
    private void RequestTrim()
    {
        if (Interlocked.Exchange(ref _trimScheduled, 1) != 0)
        {
            return;
        }

        Timer timer = Volatile.Read(ref _trimTimer) ?? CreateTrimTimer();
        timer.Change(TrimDelayMilliseconds, Timeout.Infinite);
    }

    private Timer CreateTrimTimer()
    {
        var timer = new Timer(static state => ((MemoryBudget)state!).Trim(), this, Timeout.Infinite, Timeout.Infinite);
        Timer? existing = Interlocked.CompareExchange(ref _trimTimer, timer, null);
        if (existing is not null)
        {
            timer.Dispose();
            return existing;
        }

        return timer;
    }

    private void Trim()
    {
        Volatile.Write(ref _trimScheduled, 0);
        Guard.Run(static () => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true));
    }
}
