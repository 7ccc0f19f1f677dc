namespace AotMilter.Filters.Stores;

/// <summary>How the in-process stores stay within their bound: what is stale goes, then the least valuable entries.</summary>
internal static class Eviction
{
    /// <summary>
    /// Removes the entries <paramref name="isStale"/> names; then, while more than <paramref name="max"/> remain, the
    /// ones with the lowest <paramref name="rank"/> until 90 % of <paramref name="max"/> are left (so that the next few
    /// new entries do not sweep again at once).
    /// </summary>
    public static void Sweep<T>(Dictionary<string, T> entries, int max, Func<T, bool> isStale, Func<T, long> rank)
    {
        List<string>? stale = null;
        foreach ((string key, T entry) in entries)
        {
            if (isStale(entry))
            {
                (stale ??= []).Add(key);
            }
        }

        stale?.ForEach(k => entries.Remove(k));
        if (entries.Count > max)
        {
            int excess = entries.Count - (max - (max / 10));
            foreach (string key in entries.OrderBy(p => rank(p.Value)).Take(excess).Select(p => p.Key).ToList())
            {
                entries.Remove(key);
            }
        }
    }
}
