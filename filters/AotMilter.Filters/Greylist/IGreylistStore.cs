namespace AotMilter.Filters.Greylist;

/// <summary>What the store knew about a triplet, and so what the filter answers.</summary>
public enum GreylistOutcome
{
    /// <summary>Never seen (or its retry window closed): remembered now, tempfailed.</summary>
    New,

    /// <summary>Seen, but the delay has not passed yet: tempfailed again.</summary>
    TooEarly,

    /// <summary>Retried after the delay and within the retry window: passes, and is remembered for the pass TTL.</summary>
    Passed,

    /// <summary>Passed before and still remembered: passes.</summary>
    Known,

    /// <summary>The client's network has passed greylisting often enough to be trusted with all its mail.</summary>
    ClientAllowed,
}

/// <summary>The store's answer: the outcome and, when tempfailed, how long until a retry can pass.</summary>
public readonly record struct GreylistDecision(GreylistOutcome Outcome, TimeSpan Wait)
{
    public bool Passes => Outcome is GreylistOutcome.Passed or GreylistOutcome.Known or GreylistOutcome.ClientAllowed;
}

/// <summary>
/// The greylisting clock: a new triplet waits <see cref="Delay"/>, must retry within <see cref="RetryWindow"/> of
/// first being seen, and once passed is remembered for <see cref="PassTtl"/> after its last use; a client network
/// with <see cref="AutoAllow"/> passed triplets (0: never) is allowed for all its mail for as long.
/// </summary>
public sealed record GreylistTimes(TimeSpan Delay, TimeSpan RetryWindow, TimeSpan PassTtl, int AutoAllow);

/// <summary>
/// Where greylisting remembers triplets: in this process (<see cref="InMemoryGreylistStore"/>) or in Redis, shared by
/// several daemons. One call per recipient: it looks the triplet up and updates it in one atomic step.
/// </summary>
public interface IGreylistStore
{
    /// <param name="triplet">The triplet's key: client network, sender and recipient.</param>
    /// <param name="client">The client network's key, for <see cref="GreylistTimes.AutoAllow"/>.</param>
    ValueTask<GreylistDecision> CheckAsync(string triplet, string client, GreylistTimes times, CancellationToken cancellationToken);
}
