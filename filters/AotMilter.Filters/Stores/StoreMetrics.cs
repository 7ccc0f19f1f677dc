using System.Diagnostics;
using System.Globalization;
using System.Text;
using AotMilter.Metrics;

namespace AotMilter.Filters.Stores;

/// <summary>
/// How a filter's store answers, published with the daemon's metrics: calls and their latency
/// (<c>aotmilter_store_seconds</c>, a histogram per filter and store) and failures by reason
/// (<c>aotmilter_store_errors_total</c>: <c>unavailable</c>, <c>timeout</c>, <c>reply</c>). One instance per filter and
/// store kind for the whole process, so counts survive a configuration reload.
/// </summary>
public sealed class StoreMetrics
{
    private static readonly double[] Bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1];
    private static readonly string[] Reasons = ["unavailable", "timeout", "reply"];
    private static readonly Lock Gate = new();
    private static readonly List<StoreMetrics> All = [];

    private readonly LatencyHistogram _latency = new(Bounds);
    private readonly long[] _errors = new long[Reasons.Length];

    private StoreMetrics(string filter, string store)
    {
        Filter = filter;
        Store = store;
    }

    public string Filter { get; }

    public string Store { get; }

    /// <summary>Calls answered.</summary>
    public long Calls => _latency.Count;

    public static StoreMetrics For(string filter, string store)
    {
        lock (Gate)
        {
            StoreMetrics? found = All.Find(m => m.Filter == filter && m.Store == store);
            if (found is null)
            {
                found = new StoreMetrics(filter, store);
                All.Add(found);
                FilterMetrics.Register(Families.Instance);
            }

            return found;
        }
    }

    /// <summary>Failures of one reason so far.</summary>
    public long Errors(string reason) => Interlocked.Read(ref _errors[Math.Max(0, Array.IndexOf(Reasons, reason))]);

    /// <summary>Counts an answered call that started at <paramref name="start"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Answered(long start) => _latency.Observe(start);

    public void Failed(string reason) => Interlocked.Increment(ref _errors[Math.Max(0, Array.IndexOf(Reasons, reason))]);

    private static void WritePrometheus(StringBuilder text)
    {
        StoreMetrics[] all;
        lock (Gate)
        {
            all = [.. All];
        }

        text.Append("# HELP aotmilter_store_seconds Time a filter's store took to answer a call.\n# TYPE aotmilter_store_seconds histogram\n");
        foreach (StoreMetrics m in all)
        {
            string labels = $"filter=\"{m.Filter}\",store=\"{m.Store}\"";
            m._latency.WritePrometheus(text, "aotmilter_store_seconds", labels);
        }

        text.Append("# HELP aotmilter_store_errors_total Store calls that failed (answered with the filter's on-error verdict), by reason.\n# TYPE aotmilter_store_errors_total counter\n");
        foreach (StoreMetrics m in all)
        {
            for (int r = 0; r < Reasons.Length; r++)
            {
                text.Append(CultureInfo.InvariantCulture, $"aotmilter_store_errors_total{{filter=\"{m.Filter}\",store=\"{m.Store}\",reason=\"{Reasons[r]}\"}} {Interlocked.Read(ref m._errors[r])}\n");
            }
        }
    }

    /// <summary>Every store's families, published once for the process.</summary>
    private sealed class Families : IMetricsSource
    {
        public static readonly Families Instance = new();

        public void WritePrometheus(StringBuilder text) => StoreMetrics.WritePrometheus(text);
    }
}
