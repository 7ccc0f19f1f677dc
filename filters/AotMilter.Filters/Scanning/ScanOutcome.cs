using System.Diagnostics;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// The last step of every scan, the same for each scanner: count it, write its one log line (with the queue id),
/// and give the verdict, the <c>on-error</c> fallback or the <c>oversize</c> one.
/// </summary>
public static class ScanOutcome
{
    /// <summary>A scan that gave a verdict: <paramref name="label"/> is its metrics label, <paramref name="result"/> and <paramref name="action"/> go to the log.</summary>
    public static Verdict Decided(string scanner, ScannerMetrics metrics, MilterContext context, string queueId, string label, string result, string action, long started, Verdict verdict)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        metrics.Scanned(label, started);
        ScanLog.Verdict(context.Logger, context.ConnectionId, scanner, queueId, result, action, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return verdict;
    }

    /// <summary>A scan that gave no verdict: the <c>on-error</c> verdict, with the reason in the log.</summary>
    public static Verdict Failed(string scanner, ScannerMetrics metrics, ScannerSettings settings, MilterContext context, string queueId, ScanException error, long started)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(error);
        metrics.Failed(error.Kind, started);
        ScanLog.Failed(context.Logger, context.ConnectionId, scanner, queueId, error.Message, settings.OnError == ScanFallback.Accept ? "accept" : "tempfail");
        return settings.ErrorVerdict;
    }

    /// <summary>
    /// The verdict for a collected message that cannot be sent whole: over the memory budget (the <c>on-error</c>
    /// verdict) or over <c>max-size</c> (the <c>oversize</c> one); null when it can be scanned.
    /// </summary>
    public static Verdict? NotCollected(string scanner, ScannerMetrics metrics, ScannerSettings settings, MilterContext context, string queueId, MessageChunks message, long started)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.OverBudget)
        {
            var full = new ScanException(ScanErrorKind.Memory, "the daemon's memory budget (--max-memory) had no room for the message");
            return Failed(scanner, metrics, settings, context, queueId, full, started);
        }

        return message.Overflowed ? Oversize(scanner, metrics, settings, context, queueId, message.TotalLength, started) : null;
    }

    /// <summary>A message over <c>max-size</c>, not scanned: the <c>oversize</c> verdict.</summary>
    public static Verdict Oversize(string scanner, ScannerMetrics metrics, ScannerSettings settings, MilterContext context, string queueId, long size, long started)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        bool accept = settings.Oversize == ScanFallback.Accept;
        metrics.Scanned("oversize", started);
        ScanLog.Oversize(context.Logger, context.ConnectionId, scanner, queueId, size, settings.MaxSize, accept ? "accept" : "tempfail");
        return accept ? Verdict.Continue : Verdict.TempFailWith(ScannerSettings.ErrorReply);
    }
}
