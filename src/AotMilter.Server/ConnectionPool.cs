namespace AotMilter.Server;

/// <summary>
/// Closed connections (with their sessions, macro stores and buffers) of one server, kept for the next ones: with one
/// milter connection per SMTP session, as Postfix does, allocating them anew would cost kilobytes per message. Shared
/// by the server's I/O threads, so a connection closed on one loop can serve the next accept on another: how the
/// accepts split between the loops shifts all the time, and per-loop pools each had to grow to their own peak (one
/// new connection object, about 7 KB, whenever a loop met more connections at once than it ever had). The lock is
/// taken once per connection, uncontended nearly always, and unlike a lock-free stack allocates nothing.
/// </summary>
internal sealed class ConnectionPool(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Stack<MilterConnection> _free = new();

    public bool TryRent(out MilterConnection connection)
    {
        lock (_gate)
        {
            return _free.TryPop(out connection!);
        }
    }

    public void Return(MilterConnection connection)
    {
        lock (_gate)
        {
            // Bounded: after a burst, memory goes back to the GC instead of staying pooled for ever.
            if (_free.Count < capacity)
            {
                _free.Push(connection);
            }
        }
    }
}
