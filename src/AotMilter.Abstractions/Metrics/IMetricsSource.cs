using System.Text;

namespace AotMilter.Metrics;

/// <summary>
/// Counters a filter keeps beyond the daemon's own (a scanner's scans, errors and latency, say), written into the
/// daemon's Prometheus text (<c>--metrics</c>). Register one with <see cref="FilterMetrics.Register"/>.
/// </summary>
public interface IMetricsSource
{
    /// <summary>
    /// Appends complete metric families (their <c># HELP</c> and <c># TYPE</c> lines, then the samples) in the
    /// Prometheus text format 0.0.4. Called on a scrape, from any thread; must not block.
    /// </summary>
    void WritePrometheus(StringBuilder text);
}
