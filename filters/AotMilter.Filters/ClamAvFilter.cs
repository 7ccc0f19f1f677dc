using System.Runtime.CompilerServices;
using AotMilter.Filters.ClamAv;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters;

/// <summary>
/// Scans each message with clamd: the header block and body go to clamd over one kept-alive <c>IDSESSION</c>
/// connection as INSTREAM chunks while the MTA sends them (<see cref="ClamdStream"/>), so at end of message only the
/// reply is awaited. A virus is refused (or discarded, quarantined, marked) as <c>action</c> says; a message larger
/// than <c>max-size</c> is not scanned (<c>oversize</c>); a clamd that is down, slow, or answers with an error or
/// nonsense gives the <c>on-error</c> verdict (tempfail by default), never a silent accept.
/// </summary>
[Milter("clamav", Description = "Virus scanning with clamd (INSTREAM, streamed as the message arrives)")]
public sealed class ClamAvFilter
{
    private const string Name = "clamav";
    private static readonly ScannerMetrics Metrics = ScannerMetrics.For(Name);

    private readonly ClamAvSettings _settings;
    private readonly HeaderCounts _marks = new([ScanHeaders.VirusScanned, ScanHeaders.VirusStatus]);
    private ClamdStream? _stream;

    public ClamAvFilter(ClamAvSettings settings) => _settings = settings;

    [OnMailFrom]
    public void MailFrom() => Drop();

    [OnHeader]
    public void Header(HeaderField header, MilterContext context)
    {
        ClamdStream stream = Stream(context);
        _marks.Count(header);
        stream.WriteHeader(header);
    }

    [OnEndOfHeaders]
    public void EndOfHeaders(MilterContext context)
    {
        ClamdStream stream = Stream(context);
        stream.Write("\r\n"u8);
        stream.Flush();
    }

    [OnBody]
    public Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context)
    {
        ClamdStream stream = Stream(context);
        stream.Write(chunk);
        stream.Flush();

        // Past max-size nothing more is sent: the MTA need not send the rest either (when this filter runs alone).
        return stream.Oversize ? Verdict.Skip : Verdict.Continue;
    }

    [OnEndOfMessage]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> EndOfMessage(MessageEditor editor, [Macro("i")] string? queueIdMacro, MilterContext context, CancellationToken aborted)
    {
        ClamdStream stream = Stream(context);
        _stream = null;
        var scan = new ScanCall(Name, Metrics, _settings.Scanner, context, queueIdMacro, stream.Started);
        if (stream.Oversize)
        {
            if (_settings.Scanner.Oversize == ScanFallback.Accept && _settings.AddHeader)
            {
                Mark(editor, "Not scanned (larger than max-size)");
            }

            return scan.Oversize(stream.Size);
        }

        ClamdVerdict verdict;
        try
        {
            verdict = await stream.FinishAsync(aborted).ConfigureAwait(false);
        }
        catch (ScanException ex)
        {
            return scan.Failed(ex);
        }

        if (_settings.AddHeader && (verdict.IsClean || _settings.Action != VirusAction.Reject))
        {
            Mark(editor, verdict.IsClean ? "Clean" : $"Infected ({ScanHeaders.Printable(verdict.Virus!)})");
        }

        if (verdict.IsClean)
        {
            return scan.Decided("clean", "clean", "continue", Verdict.Continue);
        }

        string found = $"{LogText.Escape(verdict.Virus!)} FOUND";
        switch (_settings.Action)
        {
            case VirusAction.Discard:
                return scan.Decided("virus", found, "discard", Verdict.Discard);
            case VirusAction.Quarantine:
                editor.Quarantine($"virus {ScanHeaders.Printable(verdict.Virus!)}");
                return scan.Decided("virus", found, "quarantine", Verdict.Accept);
            case VirusAction.Header:
                return scan.Decided("virus", found, "header", Verdict.Continue);
            default:
                SmtpReply reply = _settings.RejectReply(verdict.Virus!);
                return scan.Decided("virus", found, "reject", Verdict.RejectWith(reply));
        }
    }

    [OnAbort]
    public void Abort() => Drop();

    [OnClose]
    public void Close() => Drop();

    private ClamdStream Stream(MilterContext context)
    {
        if (_stream is null)
        {
            _marks.Reset();
            _stream = new ClamdStream(_settings.Scanner.Pool, _settings.Scanner.Timeout, _settings.Scanner.MaxSize, context.MemoryBudget);
        }

        return _stream;
    }

    /// <summary>
    /// X-Virus-Scanned and X-Virus-Status in place of any the message came with (a change of a field that is not
    /// there adds it, as both MTAs do).
    /// </summary>
    private void Mark(MessageEditor editor, string status)
    {
        foreach ((string name, string value) in (ReadOnlySpan<(string, string)>)[(ScanHeaders.VirusScanned, ScanHeaders.ScannedBy(Name)), (ScanHeaders.VirusStatus, status)])
        {
            for (int i = _marks.Of(name); i > 1; i--)
            {
                editor.DeleteHeader(name, i);
            }

            editor.ChangeHeader(name, 1, value);
        }
    }

    private void Drop()
    {
        _stream?.Abandon();
        _stream = null;
        _marks.Reset();
    }
}
