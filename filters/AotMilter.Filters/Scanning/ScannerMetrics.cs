using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using AotMilter.Metrics;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// What one scanner did since the daemon started: scans, verdicts (by what the scanner said and what was done),
/// errors (by <see cref="ScanErrorKind"/>) and a latency histogram. One object per scanner name for the life of the
/// process (reloads keep the counts); all of them are written into the daemon's <c>--metrics</c> text as the
/// <c>aotmilter_scanner_*</c> families.
/// </summary>
public sealed class ScannerMetrics
{
    /// <summary>Upper bounds of the latency histogram, in seconds (+Inf is implied).</summary>
    private static readonly double[] LatencyBounds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly ConcurrentDictionary<string, ScannerMetrics> All = new(StringComparer.Ordinal);
    private static readonly Source Families = new();

    private readonly ConcurrentDictionary<string, StrongBox<long>> _verdicts = new(StringComparer.Ordinal);
    private readonly long[] _errors = new long[Enum.GetValues<ScanErrorKind>().Length];
    private readonly LatencyHistogram _latency = new(LatencyBounds);
    private long _scans;

    private ScannerMetrics(string scanner) => Scanner = scanner;

    public string Scanner { get; }

    public long Scans => Interlocked.Read(ref _scans);

    /// <summary>The counters of <paramref name="scanner"/> (made, and published, on first use).</summary>
    public static ScannerMetrics For(string scanner)
    {
        FilterMetrics.Register(Families);
        return All.GetOrAdd(scanner, static name => new ScannerMetrics(name));
    }

    /// <summary>Counts a scan that gave a verdict (<paramref name="verdict"/>: a fixed word such as clean, virus, spam, or an action).</summary>
    public void Scanned(string verdict, long started)
    {
        Interlocked.Increment(ref _verdicts.GetOrAdd(verdict, static _ => new StrongBox<long>()).Value);
        Count(started);
    }

    /// <summary>Counts a scan that gave no verdict.</summary>
    public void Failed(ScanErrorKind kind, long started)
    {
        Interlocked.Increment(ref _errors[(int)kind]);
        Count(started);
    }

    public long Verdicts(string verdict) => _verdicts.TryGetValue(verdict, out StrongBox<long>? n) ? Interlocked.Read(ref n.Value) : 0;

    public long Errors(ScanErrorKind kind) => Interlocked.Read(ref _errors[(int)kind]);

    private void Count(long started)
    {
        _latency.Observe(started);
        Interlocked.Increment(ref _scans);
    }

    private sealed class Source : IMetricsSource
    {
        public void WritePrometheus(StringBuilder text)
        {
            ScannerMetrics[] scanners = All.Values.OrderBy(m => m.Scanner, StringComparer.Ordinal).ToArray();
            if (scanners.Length == 0)
            {
                return;
            }

            text.Append("# HELP aotmilter_scanner_scans_total Scans made, with or without a verdict.\n# TYPE aotmilter_scanner_scans_total counter\n");
            foreach (ScannerMetrics m in scanners)
            {
                text.Append(CultureInfo.InvariantCulture, $"aotmilter_scanner_scans_total{{scanner=\"{m.Scanner}\"}} {m.Scans}\n");
            }

            text.Append("# HELP aotmilter_scanner_verdicts_total Scans that gave a verdict, by what the scanner found.\n# TYPE aotmilter_scanner_verdicts_total counter\n");
            foreach (ScannerMetrics m in scanners)
            {
                foreach (KeyValuePair<string, StrongBox<long>> v in m._verdicts.OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    text.Append(CultureInfo.InvariantCulture, $"aotmilter_scanner_verdicts_total{{scanner=\"{m.Scanner}\",verdict=\"{v.Key}\"}} {Interlocked.Read(ref v.Value.Value)}\n");
                }
            }

            text.Append("# HELP aotmilter_scanner_errors_total Scans that gave no verdict (answered with on-error), by reason.\n# TYPE aotmilter_scanner_errors_total counter\n");
            foreach (ScannerMetrics m in scanners)
            {
                foreach (ScanErrorKind kind in Enum.GetValues<ScanErrorKind>())
                {
                    text.Append(CultureInfo.InvariantCulture, $"aotmilter_scanner_errors_total{{scanner=\"{m.Scanner}\",reason=\"{kind.ToString().ToLowerInvariant()}\"}} {m.Errors(kind)}\n");
                }
            }

            text.Append("# HELP aotmilter_scanner_seconds Time from a scan's first byte sent to its verdict or error.\n# TYPE aotmilter_scanner_seconds histogram\n");
            foreach (ScannerMetrics m in scanners)
            {
                m._latency.WritePrometheus(text, "aotmilter_scanner_seconds", $"scanner=\"{m.Scanner}\"");
            }
        }
    }
}
