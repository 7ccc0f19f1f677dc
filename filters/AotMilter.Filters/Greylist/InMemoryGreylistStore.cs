using AotMilter.Filters.Stores;

namespace AotMilter.Filters.Greylist;

/// <summary>
/// Greylisting in this process: triplets and client networks in one table, each entry with the time it expires.
/// Memory is bounded: expired entries are swept every few thousand calls, and beyond <see cref="MaxEntries"/> the
/// entries closest to expiring go first. A daemon restart forgets everything (clients are greylisted again); several
/// daemons need the Redis store to agree.
/// </summary>
public sealed class InMemoryGreylistStore : IGreylistStore
{
    private static readonly SharedStore<InMemoryGreylistStore> ProcessWide = new(max => new InMemoryGreylistStore(max), s => s.MaxEntries);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private int _operations;

    public InMemoryGreylistStore(int maxEntries, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        MaxEntries = maxEntries;
        _time = time ?? TimeProvider.System;
    }

    public int MaxEntries { get; }

    /// <summary>Entries held now (triplets and client networks).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The process-wide store, kept across configuration reloads unless the capacity changes.</summary>
    public static InMemoryGreylistStore Shared(int maxEntries) => ProcessWide.Get(maxEntries);

    public ValueTask<GreylistDecision> CheckAsync(string triplet, string client, GreylistTimes times, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(triplet);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(times);
        long now = _time.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            GreylistDecision decision = Decide(triplet, client, times, now);
            if (_entries.Count > MaxEntries || ++_operations >= 4096)
            {
                Sweep(now);
            }

            return new(decision);
        }
    }

    // The same steps as the Redis store's script.
    private GreylistDecision Decide(string triplet, string client, GreylistTimes times, long now)
    {
        if (times.AutoAllow > 0 && Live(client, now) is Entry trusted && trusted.Count >= times.AutoAllow)
        {
            trusted.Expires = now + times.PassTtl.Ticks;
            return new(GreylistOutcome.ClientAllowed, TimeSpan.Zero);
        }

        if (Live(triplet, now) is not Entry entry || (!entry.Passed && now - entry.FirstSeen > times.RetryWindow.Ticks))
        {
            _entries[triplet] = new Entry { FirstSeen = now, Expires = now + times.RetryWindow.Ticks };
            return new(GreylistOutcome.New, times.Delay);
        }

        if (entry.Passed)
        {
            entry.Expires = now + times.PassTtl.Ticks;
            return new(GreylistOutcome.Known, TimeSpan.Zero);
        }

        if (now - entry.FirstSeen < times.Delay.Ticks)
        {
            return new(GreylistOutcome.TooEarly, TimeSpan.FromTicks(times.Delay.Ticks - (now - entry.FirstSeen)));
        }

        entry.Passed = true;
        entry.Expires = now + times.PassTtl.Ticks;
        if (times.AutoAllow > 0)
        {
            if (Live(client, now) is not Entry counter)
            {
                counter = new Entry();
                _entries[client] = counter;
            }

            counter.Count++;
            counter.Expires = now + times.PassTtl.Ticks;
        }

        return new(GreylistOutcome.Passed, TimeSpan.Zero);
    }

    private Entry? Live(string key, long now) =>
        _entries.TryGetValue(key, out Entry? entry) && entry.Expires > now ? entry : null;

    /// <summary>Drops expired entries, then those closest to expiring until there is room again.</summary>
    private void Sweep(long now)
    {
        _operations = 0;
        Eviction.Sweep(_entries, MaxEntries, e => e.Expires <= now, e => e.Expires);
    }

    private sealed class Entry
    {
        public long FirstSeen { get; init; }

        public long Expires { get; set; }

        public bool Passed { get; set; }

        /// <summary>For a client network: how many of its triplets passed.</summary>
        public int Count { get; set; }
    }
}
