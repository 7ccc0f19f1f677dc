namespace AotMilter.Server;

/// <summary>
/// Closed connections (with their sessions, macro stores and buffers) of one server on one I/O thread, kept for the
/// next ones: with one milter connection per SMTP session, as Postfix does, allocating them anew would cost
/// kilobytes per message. Touched only by its loop's thread, so it needs no lock.
/// </summary>
internal sealed class ConnectionPool(int capacity)
{
    private readonly Stack<MilterConnection> _free = new();

    public bool TryRent(out MilterConnection connection) => _free.TryPop(out connection!);

    public void Return(MilterConnection connection)
    {
        // Bounded: after a burst, memory goes back to the GC instead of staying pooled for ever.
        if (_free.Count < capacity)
        {
            _free.Push(connection);
        }
    }
}
