using System.Globalization;
using System.Runtime.CompilerServices;
using AotMilter.Filters.Scanning;
using AotMilter.Filters.SpamAssassin;

namespace AotMilter.Filters;

/// <summary>
/// Scores each message with spamd (<c>HEADERS SPAMC/1.5</c>) and writes SpamAssassin's <c>X-Spam-*</c> fields into
/// it as spamass-milter does (a field the message already had is replaced, one SpamAssassin did not write is
/// removed), along with SpamAssassin's Subject rewrite and an optional tag of its own; refuses at or above
/// <c>reject-score</c>, and can quarantine the spam it keeps. The message is collected up to <c>max-size</c>
/// (<see cref="MessageChunks"/>: spamd needs its length first) and sent at end of message; a larger one is not
/// scanned, and a spamd that is down, slow or confused gives the <c>on-error</c> verdict.
/// </summary>
[Milter("spamassassin", Description = "Spam scoring with spamd (SPAMC/1.5); X-Spam-* headers as spamass-milter writes them")]
public sealed class SpamAssassinFilter
{
    private const string Name = "spamassassin";
    private const string Prefix = "X-Spam-";
    private static readonly ScannerMetrics Metrics = ScannerMetrics.For(Name);

    private readonly SpamAssassinSettings _settings;
    private readonly CollectedMessage _message;

    public SpamAssassinFilter(SpamAssassinSettings settings)
    {
        _settings = settings;
        _message = new CollectedMessage(settings.Scanner.MaxSize, new HeaderCounts(["Subject"], Prefix));
    }

    // What spamass-milter tells spamd about the envelope and the SMTP client, ahead of the message's own header:
    // X-Envelope-From, X-Envelope-To (the first recipient) and a Received field built from the macros Sendmail
    // defines, with spamass-milter's stand-ins for the ones an MTA does not send (Postfix sends neither r, b nor Z).
    private string? _client;
    private string? _mtaHost;
    private string? _mtaVersion;
    private string? _mtaRelease;
    private string? _helo;
    private string? _protocol;
    private string? _date;
    private string? _sender;
    private string? _recipient;

    [OnConnect]
    public void Connect([Macro("_")] string? client, [Macro("j")] string? host, [Macro("v")] string? version, [Macro("Z")] string? release)
        => (_client, _mtaHost, _mtaVersion, _mtaRelease) = (client, host, version, release);

    [OnHelo]
    public void Helo(string helo, [Macro("s")] string? heloMacro) => _helo = string.IsNullOrEmpty(heloMacro) ? helo : heloMacro;

    [OnMailFrom]
    public void MailFrom(string sender, [Macro("r")] string? protocol, [Macro("b")] string? date)
    {
        Reset();
        (_sender, _protocol, _date) = (sender, protocol, date);
    }

    [OnRcptTo]
    public void RcptTo(string recipient) => _recipient ??= recipient;

    [OnHeader]
    public void Header(HeaderField header, MilterContext context) => _message.Header(header, context);

    [OnEndOfHeaders]
    public void EndOfHeaders(MilterContext context) => _message.EndOfHeaders(context);

    [OnBody]
    public Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context) => _message.CollectBody(chunk, context) ? Verdict.Skip : Verdict.Continue;

    [OnEndOfMessage]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> EndOfMessage(MessageEditor editor, [Macro("i")] string? queueIdMacro, MilterContext context, CancellationToken aborted)
    {
        var scan = new ScanCall(Name, Metrics, _settings.Scanner, context, queueIdMacro);
        try
        {
            if (await scan.AskAsync(_message.Chunks, deadline => SpamdClient.CheckAsync(_settings.Scanner.Pool, _settings.User, Envelope(queueIdMacro), _message.Chunks, deadline), aborted)
                .ConfigureAwait(false) is not SpamdResult result)
            {
                return scan.Fallback;
            }

            string score = string.Create(CultureInfo.InvariantCulture, $"{(result.IsSpam ? "spam" : "ham")}, score {result.Score} / {result.Threshold}");
            if (_settings.RejectScore is double limit && result.Score >= limit)
            {
                return scan.Decided("spam", score, $"reject (reject-score {limit.ToString(CultureInfo.InvariantCulture)})", Verdict.RejectWith(_settings.Reply));
            }

            Mark(editor, result);
            if (result.IsSpam && _settings.Quarantine)
            {
                editor.Quarantine(string.Create(CultureInfo.InvariantCulture, $"spam, score {result.Score}"));
                return scan.Decided("spam", score, "quarantine", Verdict.Continue);
            }

            return scan.Decided(result.IsSpam ? "spam" : "ham", score, "marked", Verdict.Continue);
        }
        finally
        {
            Reset();
        }
    }

    private string Envelope(string? queueId)
    {
        string date = string.IsNullOrEmpty(_date) ? DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture) : _date;
        return $"X-Envelope-From: <{_sender}>\r\nX-Envelope-To: <{_recipient}>\r\n"
            + $"Received: from {_helo} ({_client})\r\n\tby {_mtaHost} ({_mtaVersion}/{(string.IsNullOrEmpty(_mtaRelease) ? "8.13.0" : _mtaRelease)})"
            + $" with {(string.IsNullOrEmpty(_protocol) ? "SMTP" : _protocol)} id {(string.IsNullOrEmpty(queueId) ? "unknown" : queueId)}\r\n\t{date}\r\n\t(envelope-from <{_sender}>);\r\n";
    }

    /// <summary>SpamAssassin's X-Spam-* fields in place of the message's own, its Subject rewrite, and the subject tag.</summary>
    private void Mark(MessageEditor editor, SpamdResult result)
    {
        var written = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? subject = null;
        foreach ((string name, string value) in result.Headers)
        {
            if (name.Equals("Subject", StringComparison.OrdinalIgnoreCase))
            {
                subject ??= value;
            }
            else if (name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && value.Trim().Length > 0 && written.Add(name))
            {
                for (int i = _message.Headers.Of(name); i > 1; i--)
                {
                    editor.DeleteHeader(name, i);
                }

                editor.ChangeHeader(name, 1, value);
            }
        }

        // A field of SpamAssassin's the message came with (forged, or from another scan) that this scan did not write.
        foreach (string name in _message.Headers.Names)
        {
            if (name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && !written.Contains(name))
            {
                for (int i = _message.Headers.Of(name); i >= 1; i--)
                {
                    editor.DeleteHeader(name, i);
                }
            }
        }

        // SpamAssassin's Subject (rewrite_header Subject) when it wrote one, then the tag of our own.
        subject ??= _message.Subject;
        if (result.IsSpam && _settings.SubjectTag is string tag && !(subject ?? "").StartsWith(tag, StringComparison.Ordinal))
        {
            subject = subject is null ? tag : tag + " " + subject;
        }

        if (subject is not null && subject.Replace("\r", "", StringComparison.Ordinal) != _message.Subject?.Replace("\r", "", StringComparison.Ordinal))
        {
            editor.ChangeHeader("Subject", 1, subject);
        }
    }

    /// <summary>Forgets the message: after its end, and when the MTA aborts it or closes the connection.</summary>
    [OnAbort]
    [OnClose]
    public void Reset()
    {
        _recipient = null;
        _message.Reset();
    }
}
