using System.Runtime.CompilerServices;
using AotMilter.Filters.Disclaimer;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters;

/// <summary>
/// Appends a disclaimer to outbound mail (selected by envelope sender or SMTP AUTH login), MIME-aware: the text
/// disclaimer to text/plain parts, the HTML one to text/html parts, in each part's charset and transfer encoding;
/// signed and encrypted mail is never touched, and a marker header keeps a message from being disclaimed twice.
/// The body is collected in memory up to <c>max-message-size</c>; a larger message, or one whose MIME structure goes
/// beyond the configured limits, passes unchanged (and is logged). A body larger than one chunk is parsed and
/// rewritten on the thread pool, not on the event loop; the new body goes to the MTA piece by piece, slices of the
/// collected body and the inserted bytes, never copied into a whole of its own.
/// </summary>
[Milter("disclaimer", Description = "Appends a text/HTML disclaimer to outbound mail, MIME-aware")]
public sealed class DisclaimerFilter
{
    private readonly DisclaimerSettings _settings;
    private readonly List<KeyValuePair<string, string>> _mimeHeaders = [];
    private readonly BodyBuffer _body;
    private bool _selected;
    private bool _alreadyDisclaimed;
    private bool _hasTransferEncoding;

    public DisclaimerFilter(DisclaimerSettings settings)
    {
        _settings = settings;
        _body = new BodyBuffer(_settings.MaxMessageSize);
    }

    [OnMailFrom]
    public void MailFrom(string sender, [Macro("{auth_authen}")] string? login)
    {
        Reset();
        _selected = _settings.Selects(sender, string.IsNullOrEmpty(login) ? null : login);
    }

    [OnHeader]
    public void Header(HeaderField header)
    {
        if (!_selected)
        {
            return;
        }

        if (header.NameIs(_settings.MarkerHeader))
        {
            _alreadyDisclaimed = true;
        }
        else if (header.NameIs("Content-Type") || header.NameIs("Content-Transfer-Encoding") || header.NameIs("Content-Disposition"))
        {
            // Only the MIME fields matter for the rewrite; the others are not kept.
            _hasTransferEncoding |= header.NameIs("Content-Transfer-Encoding");
            MimeFields.AddFirst(_mimeHeaders, header.NameString(), header.ValueString());
        }
    }

    [OnBody]
    public Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context)
    {
        if (!_selected || _alreadyDisclaimed)
        {
            // Nothing to do with this body: the MTA need not send the rest (when this filter runs alone).
            return Verdict.Skip;
        }

        _body.Append(chunk, context.MemoryBudget);
        return _body.Overflowed ? Verdict.Skip : Verdict.Continue;
    }

    [OnEndOfMessage]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> EndOfMessage(MessageEditor editor, [Macro("i")] string? queueIdMacro, MilterContext context)
    {
        try
        {
            if (!_selected)
            {
                return Verdict.Continue;
            }

            string queueId = queueIdMacro is null ? "-" : LogText.Escape(queueIdMacro);
            if (_alreadyDisclaimed)
            {
                DisclaimerLog.Skipped(context.Logger, context.ConnectionId, queueId, $"it has {_settings.MarkerHeader} already");
                return Verdict.Continue;
            }

            if (_body.Overflowed)
            {
                DisclaimerLog.Skipped(context.Logger, context.ConnectionId, queueId, _body.OverBudget
                    ? "the daemon's memory budget (--max-memory) had no room for the body"
                    : $"the body is larger than max-message-size ({_settings.MaxMessageSize} bytes)");
                return Verdict.Continue;
            }

            return await BodyWork.RunAsync(
                _body.Length,
                (Filter: this, editor, queueId, context),
                static s => s.Filter.Disclaim(s.editor, s.queueId, s.context)).ConfigureAwait(false);
        }
        finally
        {
            Reset();
        }
    }

    private Verdict Disclaim(MessageEditor editor, string queueId, MilterContext context)
    {
        ReadOnlySpan<byte> body = _body.Content;
        DisclaimerResult result = _settings.Rewriter.Rewrite(body, _mimeHeaders, _settings.Limits);
        foreach (string note in result.Notes)
        {
            DisclaimerLog.Note(context.Logger, context.ConnectionId, queueId, LogText.Escape(note));
        }

        if (result.Outcome != DisclaimerOutcome.Added)
        {
            DisclaimerLog.Skipped(context.Logger, context.ConnectionId, queueId, result.Outcome switch
            {
                DisclaimerOutcome.Signed => "signed or encrypted",
                DisclaimerOutcome.Malformed => "its MIME structure is broken",
                DisclaimerOutcome.OverLimits => _settings.Limits.Describe(result.Exceeded),
                _ => "no text part to add it to",
            });
            return Verdict.Continue;
        }

        foreach (ReadOnlySpan<byte> piece in result.NewBody(body))
        {
            // The first call replaces the body, the next ones append to the replacement.
            editor.ReplaceBody(piece);
        }

        if (result.MessageTransferEncoding is string cte)
        {
            if (_hasTransferEncoding)
            {
                editor.ChangeHeader("Content-Transfer-Encoding", 1, cte);
            }
            else
            {
                editor.AddHeader("Content-Transfer-Encoding", cte);
            }
        }

        editor.AddHeader(_settings.MarkerHeader, "yes");
        DisclaimerLog.Added(context.Logger, context.ConnectionId, result.PartsChanged, queueId);
        return Verdict.Continue;
    }

    /// <summary>Forgets the message: after its end, and when the MTA aborts it or closes the connection.</summary>
    [OnAbort]
    [OnClose]
    public void Reset()
    {
        _selected = false;
        _alreadyDisclaimed = false;
        _hasTransferEncoding = false;
        _mimeHeaders.Clear();
        _body.Reset();
    }
}
