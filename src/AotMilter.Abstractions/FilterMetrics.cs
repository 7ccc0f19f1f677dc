using System.Text;

namespace AotMilter;

/// <summary>
/// Metrics a filter publishes beside the daemon's own (<c>--metrics</c>, Prometheus text): a filter registers a
/// writer once per process under a name, and every scrape appends what each writer writes, in registration order.
/// A writer appends complete metric families (<c># HELP</c>, <c># TYPE</c>, samples) and must not throw.
/// </summary>
public static class FilterMetrics
{
    private static readonly Lock Gate = new();
    private static readonly List<(string Name, Action<StringBuilder> Write)> Writers = [];

    /// <summary>Adds <paramref name="write"/> unless a writer of that name is registered already.</summary>
    public static void Register(string name, Action<StringBuilder> write)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(write);
        lock (Gate)
        {
            if (!Writers.Exists(w => w.Name == name))
            {
                Writers.Add((name, write));
            }
        }
    }

    /// <summary>Appends every registered filter's metrics.</summary>
    public static void WritePrometheus(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string Name, Action<StringBuilder> Write)[] writers;
        lock (Gate)
        {
            writers = [.. Writers];
        }

        foreach ((_, Action<StringBuilder> write) in writers)
        {
            write(text);
        }
    }
}
