using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace AotMilter.Metrics;

/// <summary>
/// A Prometheus histogram of durations for a filter's metrics (<see cref="IMetricsSource"/>): lock-free counts per
/// bucket and the sum, written as <c>NAME_bucket</c>, <c>NAME_sum</c> and <c>NAME_count</c> samples with the caller's
/// labels. The caller writes the family's <c># HELP</c> and <c># TYPE … histogram</c> lines once for all its series.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly double[] _bounds;
    private readonly long[] _buckets;
    private long _ticks;

    /// <param name="bounds">Upper bounds in seconds, ascending (+Inf is implied).</param>
    public LatencyHistogram(double[] bounds)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        _bounds = bounds;
        _buckets = new long[bounds.Length + 1];
    }

    /// <summary>Observations so far.</summary>
    public long Count
    {
        get
        {
            long total = 0;
            for (int b = 0; b < _buckets.Length; b++)
            {
                total += Interlocked.Read(ref _buckets[b]);
            }

            return total;
        }
    }

    /// <summary>Counts the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to now.</summary>
    public void Observe(long startTimestamp)
    {
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        double seconds = (double)ticks / Stopwatch.Frequency;
        int bucket = 0;
        while (bucket < _bounds.Length && seconds > _bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Add(ref _ticks, ticks);
    }

    /// <summary>Appends the series' samples: <paramref name="labels"/> is the label list without braces (<c>scanner="clamav"</c>).</summary>
    public void WritePrometheus(StringBuilder text, string name, string labels)
    {
        ArgumentNullException.ThrowIfNull(text);
        long running = 0;
        for (int b = 0; b < _bounds.Length; b++)
        {
            running += Interlocked.Read(ref _buckets[b]);
            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"{_bounds[b]}\"}} {running}\n");
        }

        running += Interlocked.Read(ref _buckets[^1]);
        text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"+Inf\"}} {running}\n");
        text.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {(double)Interlocked.Read(ref _ticks) / Stopwatch.Frequency}\n");
        text.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {running}\n");
    }
}
