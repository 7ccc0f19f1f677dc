using System.Runtime.CompilerServices;
using System.Text;
using AotMilter.Filters.Mime;
using AotMilter.Filters.Rules;

namespace AotMilter.Filters;

/// <summary>
/// Content control: rules on header fields (names and decoded values) and on the message's text (every text part,
/// decoded), literal or regular expression, each with its actions: reject, tempfail, discard, quarantine, add a
/// header, prefix the subject, redirect, change the sender, or send a copy (BCC). A reject, tempfail or discard
/// found in a header is answered at once; every other action is applied at end of message, each rule once.
/// Body rules read the first <c>max-body-scan</c> bytes, within the MIME limits (a message beyond them gets the
/// <c>over-limits</c> actions, none by default); both are logged. A body larger than one chunk is parsed and matched
/// on the thread pool, not on the event loop.
/// </summary>
[Milter("rules", Description = "Header and body content rules: reject, quarantine, tag, redirect, BCC")]
public sealed class RulesFilter
{
    private readonly RulesSettings _settings;
    private static readonly SmtpReply OutOfMemoryReply = SmtpReply.Create(451, "4.3.1", "Insufficient system resources, try again later");

    private readonly BodyBuffer _body;
    private readonly List<KeyValuePair<string, string>> _mimeHeaders = [];
    // Kept only to delete them when a rule redirects the message; bounded, since a peer on the milter socket is not
    // held to the MTA's recipient limit (Postfix: 1000 by default).
    private const int MaxRecipientBytes = 64 * 1024;
    private readonly List<string> _recipients = [];
    private int _recipientBytes;
    private bool _recipientsOverflowed;
    private readonly List<ContentRule> _matched = [];
    private string? _subject;

    public RulesFilter(RulesSettings settings)
    {
        _settings = settings;
        _body = new BodyBuffer(settings.MaxBodyScan);
    }

    [OnMailFrom]
    public void MailFrom() => Reset();

    [OnRcptTo]
    public void RcptTo(EnvelopeAddress recipient)
    {
        if (_recipientsOverflowed || _recipientBytes + recipient.Raw.Length > MaxRecipientBytes)
        {
            _recipientsOverflowed = true;
            return;
        }

        _recipientBytes += recipient.Raw.Length;
        _recipients.Add(Encoding.UTF8.GetString(recipient.Raw));
    }

    [OnHeader]
    public Verdict Header(HeaderField header, MilterContext context)
    {
        string name = header.NameString();
        string value = header.ValueString();
        if (header.NameIs("Subject"))
        {
            _subject ??= value;
        }

        if (header.NameIs("Content-Type") || header.NameIs("Content-Transfer-Encoding"))
        {
            MimeFields.AddFirst(_mimeHeaders, name, value);
        }

        string? decoded = null;
        foreach (ContentRule rule in _settings.HeaderRules)
        {
            if (rule.HeaderName!.IsMatch(name) && rule.Pattern.IsMatch(decoded ??= EncodedWords.Decode(value)))
            {
                Verdict verdict = Matched(rule, context);
                if (!verdict.IsContinue)
                {
                    return verdict;
                }
            }
        }

        return Verdict.Continue;
    }

    [OnBody]
    public Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context)
    {
        if (_settings.BodyRules.Count == 0)
        {
            // No body rule: the MTA need not send the body at all (when this filter runs alone).
            return Verdict.Skip;
        }

        _body.Append(chunk, context.MemoryBudget);
        return _body.Overflowed ? Verdict.Skip : Verdict.Continue;
    }

    [OnEndOfMessage]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> EndOfMessage(MessageEditor editor, [Macro("i")] string? queueId, MilterContext context)
    {
        try
        {
            return await BodyWork.RunAsync(
                _body.Length,
                (Filter: this, editor, QueueId: queueId ?? "-", context),
                static s => s.Filter.Decide(s.editor, s.QueueId, s.context)).ConfigureAwait(false);
        }
        finally
        {
            Reset();
        }
    }

    private Verdict Decide(MessageEditor editor, string queueId, MilterContext context)
    {
        if (_settings.BodyRules.Count > 0 && _body.TotalLength > 0)
        {
            if (_body.OverBudget)
            {
                // Not a limit the admin chose: the rules could not read what they were set to read, so the message
                // is not judged on part of it. The MTA retries once memory is free.
                RulesLog.BodyCutByBudget(context.Logger, context.ConnectionId, queueId, _body.Length);
                return Verdict.TempFailWith(OutOfMemoryReply);
            }

            if (_body.Overflowed)
            {
                RulesLog.BodyCut(context.Logger, context.ConnectionId, queueId, _settings.MaxBodyScan);
            }

            List<string> texts = MimeText.Extract(_body.Content, _mimeHeaders, _settings.Limits, out MimeLimit exceeded);
            foreach (ContentRule rule in _settings.BodyRules)
            {
                if (texts.Any(rule.Pattern.IsMatch))
                {
                    Verdict verdict = Matched(rule, context);
                    if (!verdict.IsContinue)
                    {
                        return verdict;
                    }
                }
            }

            if (exceeded != MimeLimit.None)
            {
                ContentRule? over = _settings.OverLimits;
                RulesLog.OverLimits(context.Logger, context.ConnectionId, queueId, _settings.Limits.Describe(exceeded), over is null ? "none" : string.Join(", ", over.Actions.Select(a => a.Kind)));
                if (over is not null)
                {
                    Verdict verdict = Matched(over, context);
                    if (!verdict.IsContinue)
                    {
                        return verdict;
                    }
                }
            }
        }

        return Apply(editor, context);
    }

    /// <summary>Records a matching rule; returns its reject/tempfail/discard verdict, or continue.</summary>
    private Verdict Matched(ContentRule rule, MilterContext context)
    {
        if (_matched.Contains(rule))
        {
            return Verdict.Continue;
        }

        _matched.Add(rule);
        RulesLog.Matched(context.Logger, context.ConnectionId, rule.Source, string.Join(", ", rule.Actions.Select(a => a.Kind)));
        return rule.Terminal?.ToVerdict() ?? Verdict.Continue;
    }

    private Verdict Apply(MessageEditor editor, MilterContext context)
    {
        string? prefixedSubject = _subject;
        bool subjectChanged = false;
        string? quarantine = null;
        string? newSender = null;
        var redirect = new List<string>();
        var copies = new List<string>();
        foreach (RuleAction action in _matched.SelectMany(r => r.Actions))
        {
            switch (action.Kind)
            {
                case RuleActionKind.AddHeader:
                    editor.AddHeader(action.Name, action.Text);
                    break;
                case RuleActionKind.PrefixSubject:
                    string prefix = EncodeIfNeeded(action.Text);
                    if (prefixedSubject is null || !prefixedSubject.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        prefixedSubject = prefix + (prefixedSubject ?? "");
                        subjectChanged = true;
                    }

                    break;
                case RuleActionKind.Quarantine:
                    quarantine ??= action.Text;
                    break;
                case RuleActionKind.ChangeSender:
                    newSender = action.Addresses![0];
                    break;
                case RuleActionKind.Redirect:
                    redirect.AddRange(action.Addresses!.Where(a => !redirect.Contains(a, StringComparer.OrdinalIgnoreCase)));
                    break;
                case RuleActionKind.Bcc:
                    copies.AddRange(action.Addresses!.Where(a => !copies.Contains(a, StringComparer.OrdinalIgnoreCase)));
                    break;
            }
        }

        if (subjectChanged)
        {
            if (_subject is null)
            {
                editor.AddHeader("Subject", prefixedSubject!.TrimEnd());
            }
            else
            {
                editor.ChangeHeader("Subject", 1, prefixedSubject!);
            }
        }

        if (newSender is not null)
        {
            editor.ChangeSender($"<{newSender}>");
        }

        if (redirect.Count > 0 && _recipientsOverflowed)
        {
            // Not every recipient is known, so the message cannot be taken from all of them: refuse for now rather
            // than deliver to recipients a redirect rule meant to replace.
            RulesLog.RedirectTooManyRecipients(context.Logger, context.ConnectionId, MaxRecipientBytes);
            return Verdict.TempFail;
        }

        if (redirect.Count > 0)
        {
            foreach (string recipient in _recipients)
            {
                editor.DeleteRecipient(recipient);
            }

            foreach (string address in redirect)
            {
                editor.AddRecipient($"<{address}>");
            }
        }

        foreach (string address in copies.Where(c => !redirect.Contains(c, StringComparer.OrdinalIgnoreCase)))
        {
            editor.AddRecipient($"<{address}>");
        }

        if (quarantine is not null)
        {
            editor.Quarantine(quarantine);
        }

        return Verdict.Continue;
    }

    /// <summary>A non-ASCII prefix goes into the header as an RFC 2047 encoded word.</summary>
    private static string EncodeIfNeeded(string text)
    {
        if (Ascii.IsValid(text))
        {
            return text;
        }

        string trailing = text.EndsWith(' ') ? " " : "";
        return $"=?UTF-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(text.TrimEnd()))}?={trailing}";
    }

    /// <summary>Forgets the message: after its end, and when the MTA aborts it or closes the connection.</summary>
    [OnAbort]
    [OnClose]
    public void Reset()
    {
        _mimeHeaders.Clear();
        _recipients.Clear();
        _recipientBytes = 0;
        _recipientsOverflowed = false;
        _matched.Clear();
        _subject = null;
        _body.Reset();
    }
}
