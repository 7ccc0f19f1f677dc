using System.Text;

namespace AotMilter.Metrics;

/// <summary>
/// The metric sources of the filters in this process (and of the host's log queue). A filter's instances come and go
/// with connections and settings reloads, so a source registers once per process (typically from a static field's
/// initialiser) and stays; the daemon appends every registered source to its own Prometheus text.
/// </summary>
public static class FilterMetrics
{
    private static readonly Lock Gate = new();
    private static IMetricsSource[] s_sources = [];

    /// <summary>Adds a source (a source registered twice is written once).</summary>
    public static void Register(IMetricsSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (Gate)
        {
            if (!s_sources.Contains(source))
            {
                s_sources = [.. s_sources, source];
            }
        }
    }

    /// <summary>Appends every registered source's families, in the order they registered.</summary>
    public static void WritePrometheus(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (IMetricsSource source in Volatile.Read(ref s_sources))
        {
            source.WritePrometheus(text);
        }
    }
}
