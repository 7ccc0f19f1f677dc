namespace AotMilter.Filters.Scanning;

/// <summary>
/// The cancellation of one scan: fires at the scan's own deadline (<c>timeout</c>), or when the callback is aborted
/// (the MTA hung up, the daemon's callback deadline passed, the daemon stops), whichever comes first, and says which.
/// </summary>
public sealed class ScanDeadline : IDisposable
{
    private readonly CancellationTokenSource _source;
    private CancellationTokenRegistration _aborted;

    public ScanDeadline(TimeSpan timeout)
    {
        Timeout = timeout;
        _source = new CancellationTokenSource(timeout);
    }

    public TimeSpan Timeout { get; }

    public CancellationToken Token => _source.Token;

    /// <summary>True when <see cref="Link"/>'s token fired rather than the scan's own deadline.</summary>
    public bool CallbackAborted { get; private set; }

    /// <summary>Cancels this scan too when <paramref name="callbackAborted"/> fires.</summary>
    public void Link(CancellationToken callbackAborted)
    {
        _aborted.Dispose();
        _aborted = callbackAborted.UnsafeRegister(static state =>
        {
            var deadline = (ScanDeadline)state!;
            deadline.CallbackAborted = true;
            deadline.Cancel();
        }, this);
    }

    /// <summary>Starts the scan's deadline over (a streaming scan waits for the MTA's next bytes, not for one whole scan).</summary>
    public void Extend() => _source.CancelAfter(Timeout);

    public void Cancel()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>The error for an operation cancelled by this deadline.</summary>
    public ScanException Expired(string scanner) => CallbackAborted
        ? new ScanException(ScanErrorKind.Timeout, "the callback was aborted (MTA hung up, callback deadline or shutdown)")
        : new ScanException(ScanErrorKind.Timeout, $"{scanner} gave no answer within {Timeout.TotalSeconds:0.###} s");

    public void Dispose()
    {
        _aborted.Dispose();
        _source.Dispose();
    }
}
