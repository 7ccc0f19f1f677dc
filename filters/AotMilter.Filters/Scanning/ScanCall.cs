using System.Diagnostics;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// One scan of one message, from its start to its one outcome, the same for each scanner: which scanner, the metrics
/// it counts in, its settings, the connection and the message's queue id. The outcome is counted, written in one log
/// line (with the queue id and the time since <see cref="Started"/>) and turned into the verdict: the scanner's, the
/// <c>on-error</c> fallback or the <c>oversize</c> one.
/// </summary>
public sealed class ScanCall
{
    private readonly string _scanner;
    private readonly ScannerMetrics _metrics;
    private readonly ScannerSettings _settings;
    private readonly MilterContext _context;

    /// <param name="queueIdMacro">The MTA's queue id (macro <c>i</c>), or null.</param>
    /// <param name="started">When the scan started (<see cref="Stopwatch.GetTimestamp"/>); now when not given.</param>
    public ScanCall(string scanner, ScannerMetrics metrics, ScannerSettings settings, MilterContext context, string? queueIdMacro, long started = 0)
    {
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        _scanner = scanner;
        _metrics = metrics;
        _settings = settings;
        _context = context;
        QueueId = queueIdMacro is null ? "-" : LogText.Escape(queueIdMacro);
        Started = started != 0 ? started : Stopwatch.GetTimestamp();
    }

    /// <summary>The queue id as the log line shows it ("-" when the MTA sent none).</summary>
    public string QueueId { get; }

    public long Started { get; }

    /// <summary>The verdict to give when <see cref="AskAsync"/> had no answer: not scanned, or the scan failed.</summary>
    public Verdict Fallback { get; private set; } = Verdict.Continue;

    /// <summary>
    /// Asks the scanner about a message collected whole (<paramref name="message"/>): <paramref name="request"/> runs
    /// under the scan's deadline (<c>timeout</c>), which <paramref name="aborted"/> (the callback's) also ends. Returns
    /// the answer, or null when there is none, with <see cref="Fallback"/> the verdict: the message could not be
    /// collected whole (<see cref="NotCollected"/>), or the scanner gave no answer (<see cref="Failed"/>).
    /// </summary>
    public async ValueTask<TAnswer?> AskAsync<TAnswer>(MessageChunks message, Func<ScanDeadline, ValueTask<TAnswer>> request, CancellationToken aborted)
        where TAnswer : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (NotCollected(message) is Verdict notScanned)
        {
            Fallback = notScanned;
            return null;
        }

        using var deadline = new ScanDeadline(_settings.Timeout);
        deadline.Link(aborted);
        try
        {
            return await request(deadline).ConfigureAwait(false);
        }
        catch (ScanException ex)
        {
            Fallback = Failed(ex);
            return null;
        }
    }

    /// <summary>A scan that gave a verdict: <paramref name="label"/> is its metrics label, <paramref name="result"/> and <paramref name="action"/> go to the log.</summary>
    public Verdict Decided(string label, string result, string action, Verdict verdict)
    {
        _metrics.Scanned(label, Started);
        ScanLog.Verdict(_context.Logger, _context.ConnectionId, _scanner, QueueId, result, action, (long)Stopwatch.GetElapsedTime(Started).TotalMilliseconds);
        return verdict;
    }

    /// <summary>A scan that gave no verdict: the <c>on-error</c> verdict, with the reason in the log.</summary>
    public Verdict Failed(ScanException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _metrics.Failed(error.Kind, Started);
        ScanLog.Failed(_context.Logger, _context.ConnectionId, _scanner, QueueId, error.Message, _settings.OnError == ScanFallback.Accept ? "accept" : "tempfail");
        return _settings.ErrorVerdict;
    }

    /// <summary>
    /// The verdict for a collected message that cannot be sent whole: over the memory budget (the <c>on-error</c>
    /// verdict) or over <c>max-size</c> (the <c>oversize</c> one); null when it can be scanned.
    /// </summary>
    public Verdict? NotCollected(MessageChunks message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.OverBudget)
        {
            return Failed(new ScanException(ScanErrorKind.Memory, "the daemon's memory budget (--max-memory) had no room for the message"));
        }

        return message.Overflowed ? Oversize(message.TotalLength) : null;
    }

    /// <summary>A message over <c>max-size</c>, not scanned: the <c>oversize</c> verdict.</summary>
    public Verdict Oversize(long size)
    {
        bool accept = _settings.Oversize == ScanFallback.Accept;
        _metrics.Scanned("oversize", Started);
        ScanLog.Oversize(_context.Logger, _context.ConnectionId, _scanner, QueueId, size, _settings.MaxSize, accept ? "accept" : "tempfail");
        return accept ? Verdict.Continue : Verdict.TempFailWith(ScannerSettings.ErrorReply);
    }
}
