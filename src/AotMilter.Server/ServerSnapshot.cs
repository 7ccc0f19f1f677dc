namespace AotMilter.Server;

/// <summary>The counters of <see cref="MilterMetrics"/> at one moment.</summary>
/// <param name="AllocatedBytes">Managed bytes allocated by the whole process since listening started.</param>
/// <param name="ConnectionObjects">Connection objects made (when the pool had none to reuse: the one needed and the spares made with it).</param>
public readonly record struct ServerSnapshot(long ConnectionsAccepted, long ConnectionsOpen, long Messages, long ConnectionObjects, long AllocatedBytes, TimeSpan Listening)
{
    /// <summary>Allocated bytes divided by messages (0 before the first message).</summary>
    public double AllocatedBytesPerMessage => Messages == 0 ? 0 : (double)AllocatedBytes / Messages;
}
