using System.Diagnostics;

namespace AotMilter.Server;

/// <summary>
/// The daemon's process-wide counters: one interlocked increment per event, nothing else on the hot path. The host
/// reads a <see cref="Snapshot"/> for its summary line (at shutdown, and on demand). Allocation is measured from the
/// moment the first server started listening, so start-up costs do not count against messages.
/// </summary>
public static class ServerStatistics
{
    private static long s_connectionsAccepted;
    private static long s_connectionsOpen;
    private static long s_messages;
    private static long s_connectionObjects;
    private static long s_connectionsRefused;
    private static long s_listeningSince;
    private static long s_allocatedBeforeListening;

    /// <summary>Connections accepted since the process started.</summary>
    public static long ConnectionsAccepted => Interlocked.Read(ref s_connectionsAccepted);

    /// <summary>Connections open now.</summary>
    public static long ConnectionsOpen => Interlocked.Read(ref s_connectionsOpen);

    /// <summary>Connections closed at once because --max-connections or the memory budget was reached.</summary>
    public static long ConnectionsRefused => Interlocked.Read(ref s_connectionsRefused);

    /// <summary>Messages (MAIL commands) handled since the process started.</summary>
    public static long Messages => Interlocked.Read(ref s_messages);

    /// <summary>
    /// Connection objects (connection, session, context, buffers; about 7 KB with their first conversation) made since
    /// the process started: the pool of closed connections had none left. It grows to the most connections ever open
    /// at once (those of the MTA, plus any whose end is still being read while the next is accepted), then stays.
    /// </summary>
    public static long ConnectionObjects => Interlocked.Read(ref s_connectionObjects);

    /// <summary>The counters now, with the bytes allocated since listening started.</summary>
    public static ServerSnapshot Snapshot()
    {
        long since = Interlocked.Read(ref s_listeningSince);
        return new ServerSnapshot(
            ConnectionsAccepted,
            ConnectionsOpen,
            Messages,
            ConnectionObjects,
            since == 0 ? 0 : GC.GetTotalAllocatedBytes(precise: true) - Interlocked.Read(ref s_allocatedBeforeListening),
            since == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(since));
    }

    internal static void ListeningStarted()
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        if (Interlocked.CompareExchange(ref s_listeningSince, Stopwatch.GetTimestamp(), 0) == 0)
        {
            Interlocked.Exchange(ref s_allocatedBeforeListening, allocated);
        }
    }

    internal static void ConnectionOpened()
    {
        Interlocked.Increment(ref s_connectionsAccepted);
        Interlocked.Increment(ref s_connectionsOpen);
    }

    internal static void ConnectionRefused() => Interlocked.Increment(ref s_connectionsRefused);

    internal static void ConnectionClosed() => Interlocked.Decrement(ref s_connectionsOpen);

    internal static void ConnectionObjectMade() => Interlocked.Increment(ref s_connectionObjects);

    internal static void MessageStarted() => Interlocked.Increment(ref s_messages);
}

/// <summary>The counters of <see cref="ServerStatistics"/> at one moment.</summary>
/// <param name="AllocatedBytes">Managed bytes allocated by the whole process since listening started.</param>
/// <param name="ConnectionObjects">Connection objects made (the pool had none to reuse) since the process started.</param>
public readonly record struct ServerSnapshot(long ConnectionsAccepted, long ConnectionsOpen, long Messages, long ConnectionObjects, long AllocatedBytes, TimeSpan Listening)
{
    /// <summary>Allocated bytes divided by messages (0 before the first message).</summary>
    public double AllocatedBytesPerMessage => Messages == 0 ? 0 : (double)AllocatedBytes / Messages;
}
