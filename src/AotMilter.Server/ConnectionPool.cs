namespace AotMilter.Server;

/// <summary>
/// Closed connections (with their sessions, macro stores and buffers) of one server, kept for the next ones: with one
/// milter connection per SMTP session, as Postfix does, allocating them anew would cost kilobytes per message. Shared
/// by the server's I/O threads, so a connection closed on one loop can serve the next accept on another: how the
/// accepts split between the loops shifts all the time, and per-loop pools each had to grow to their own peak (one
/// new connection object, about 7 KB, whenever a loop met more connections at once than it ever had). The lock is
/// taken once per connection, uncontended nearly always, and unlike a lock-free stack allocates nothing.
/// <para>
/// First in, first out: the connection that waited longest serves next, so every pooled connection serves in turn and
/// has made its filters and grown its buffers long before a peak needs it. Last in, first out kept the spares cold
/// until the next peak, whose first conversation on them then allocated kilobytes in the middle of a steady load.
/// When the pool is found empty (more connections open at once than ever before), the server makes
/// <see cref="AheadOfPeak"/> spares with the connection it needed.
/// </para>
/// <para>
/// Bounded twice: never more than its capacity, and connections that waited through a whole trim interval
/// (<see cref="MilterServerOptions.PoolTrimInterval"/>) without being needed are let go (the fewest that were waiting
/// at any moment of the interval, less a few spares), so a burst of a few hundred connections (each tens of KiB with
/// a chain) does not stay in the resident size once the load is back to normal.
/// </para>
/// </summary>
internal sealed class ConnectionPool(int capacity, TimeSpan trimInterval)
{
    /// <summary>Connections kept beyond the ones needed during the last interval.</summary>
    internal const int Spares = 16;

    /// <summary>Connections made ahead of need each time the pool is found empty.</summary>
    internal const int AheadOfPeak = 4;

    private readonly Lock _gate = new();
    private readonly Queue<MilterConnection> _free = new();
    private long _intervalStart = Environment.TickCount64;
    private int _fewestWaiting;

    /// <summary>Connections waiting in the pool now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _free.Count;
            }
        }
    }

    public bool TryRent(out MilterConnection connection)
    {
        lock (_gate)
        {
            bool rented = _free.TryDequeue(out connection!);
            _fewestWaiting = Math.Min(_fewestWaiting, _free.Count);
            return rented;
        }
    }

    public void Return(MilterConnection connection)
    {
        lock (_gate)
        {
            // Bounded: after a burst, memory goes back to the GC instead of staying pooled for ever.
            if (_free.Count < capacity)
            {
                _free.Enqueue(connection);
            }

            TrimIfDue(Environment.TickCount64);
        }
    }

    /// <summary>At the end of each interval, lets go as many connections as were never needed during it.</summary>
    private void TrimIfDue(long now)
    {
        if (now - _intervalStart < (long)trimInterval.TotalMilliseconds)
        {
            return;
        }

        // A few spares stay: the number open at once wanders by a few all the time, and letting go of those would
        // make new connection objects (and garbage) every minute under a steady load.
        for (int unneeded = Math.Min(_fewestWaiting - Spares, _free.Count); unneeded > 0; unneeded--)
        {
            _free.Dequeue();
        }

        _intervalStart = now;
        _fewestWaiting = _free.Count;
    }
}
