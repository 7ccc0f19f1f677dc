namespace AotMilter.Filters.Stores;

/// <summary>
/// The process-wide instance of an in-process store, so that what it holds survives a configuration reload; a reload
/// that changes its capacity starts a new one (and forgets).
/// </summary>
internal sealed class SharedStore<T>(Func<int, T> create, Func<T, int> capacity)
    where T : class
{
    private readonly Lock _gate = new();
    private T? _current;

    public T Get(int maxEntries)
    {
        lock (_gate)
        {
            if (_current is null || capacity(_current) != maxEntries)
            {
                _current = create(maxEntries);
            }

            return _current;
        }
    }
}
