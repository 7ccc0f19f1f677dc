using AotMilter.Filters.Stores;

namespace AotMilter.Filters.RateLimit;

/// <summary>
/// Rate-limit counters in this process, as sliding-window counters: each key keeps the count of the current fixed
/// window and of the previous one, and the rate is <c>previous × (part of the previous window still inside the
/// sliding window) + current</c>, which follows a true sliding window closely with two numbers per key.
/// Memory is bounded: keys idle for two windows are dropped, and beyond <see cref="MaxKeys"/> the least recently
/// used keys go first. One lock guards the table: each operation is a dictionary look-up and a few additions.
/// </summary>
public sealed class InMemoryRateLimitStore : IRateLimitStore
{
    private static readonly SharedStore<InMemoryRateLimitStore> ProcessWide = new(max => new InMemoryRateLimitStore(max), s => s.MaxKeys);

    private readonly Dictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private int _operations;

    public InMemoryRateLimitStore(int maxKeys, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        MaxKeys = maxKeys;
        _time = time ?? TimeProvider.System;
    }

    public int MaxKeys { get; }

    /// <summary>Keys held now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _counters.Count;
            }
        }
    }

    /// <summary>
    /// The process-wide store, so that counters survive a configuration reload; a reload that changes the capacity
    /// starts a new store (and counts afresh).
    /// </summary>
    public static InMemoryRateLimitStore Shared(int maxKeys) => ProcessWide.Get(maxKeys);

    public ValueTask<int> TryAcquireAsync(IReadOnlyList<RateLimitRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        long now = _time.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            for (int i = 0; i < requests.Count; i++)
            {
                RateLimitRequest r = requests[i];
                if (_counters.TryGetValue(r.Key, out Counter? counter) && counter.Estimate(now, r.Window.Ticks) + 1 > r.Limit)
                {
                    counter.LastSeen = now;
                    return new(i);
                }
            }

            foreach (RateLimitRequest r in requests)
            {
                if (!_counters.TryGetValue(r.Key, out Counter? counter))
                {
                    counter = new Counter();
                    _counters[r.Key] = counter;
                }

                counter.Add(now, r.Window.Ticks);
            }

            if (_counters.Count > MaxKeys || ++_operations >= 4096)
            {
                Sweep(now);
            }
        }

        return new(-1);
    }

    /// <summary>Drops idle keys, then the least recently used ones until there is room again.</summary>
    private void Sweep(long now)
    {
        _operations = 0;
        Eviction.Sweep(_counters, MaxKeys, c => c.IsIdle(now), c => c.LastSeen);
    }

    private sealed class Counter
    {
        private long _window = -1;
        private long _windowTicks;
        private int _current;
        private int _previous;

        public long LastSeen { get; set; }

        public double Estimate(long now, long windowTicks)
        {
            Advance(now, windowTicks);
            double elapsed = (double)(now % windowTicks) / windowTicks;
            return (_previous * (1 - elapsed)) + _current;
        }

        public void Add(long now, long windowTicks)
        {
            Advance(now, windowTicks);
            _current++;
            LastSeen = now;
        }

        public bool IsIdle(long now) => _windowTicks > 0 && now - LastSeen >= 2 * _windowTicks;

        private void Advance(long now, long windowTicks)
        {
            long window = now / windowTicks;
            if (_windowTicks != windowTicks)
            {
                _windowTicks = windowTicks;
                _window = window;
                _previous = 0;
                _current = 0;
                return;
            }

            if (window == _window)
            {
                return;
            }

            _previous = window == _window + 1 ? _current : 0;
            _current = 0;
            _window = window;
        }
    }
}
