namespace AotMilter.Protocol;

/// <summary>
/// Where a buffer that grows past its working size reserves the bytes first (the daemon's process-wide memory
/// budget): a reservation that does not fit fails, and the caller refuses the input instead of growing.
/// </summary>
public interface IMemoryReservation
{
    /// <summary>Reserves <paramref name="bytes"/>; false (and nothing reserved) when they do not fit.</summary>
    bool TryReserve(long bytes);

    /// <summary>Gives back what <see cref="TryReserve"/> took.</summary>
    void Release(long bytes);
}
