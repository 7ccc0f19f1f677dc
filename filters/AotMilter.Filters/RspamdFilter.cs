using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using AotMilter.Filters.Rspamd;
using AotMilter.Filters.Scanning;
using AotMilter.Protocol;

namespace AotMilter.Filters;

/// <summary>
/// Checks each message with rspamd's <c>/checkv2</c> (the envelope as request headers) and does what rspamd's own
/// milter proxy does with the reply: <c>reject</c> (554 5.7.1 with rspamd's message), <c>soft reject</c> and
/// <c>greylist</c> (451 4.7.1), <c>rewrite subject</c>, <c>add header</c> (<c>X-Spam: Yes</c>), <c>discard</c>,
/// <c>quarantine</c>, <c>no action</c>; the reply's <c>milter</c> block adds and removes header fields. The message is
/// collected up to <c>max-size</c> and sent at end of message; a larger one is not scanned, and an rspamd that is
/// down, slow or confused gives the <c>on-error</c> verdict.
/// </summary>
[Milter("rspamd", Description = "Spam filtering with rspamd (/checkv2); acts on its action and milter block as rspamd's proxy does")]
public sealed class RspamdFilter
{
    private const string Name = "rspamd";
    private static readonly ScannerMetrics Metrics = ScannerMetrics.For(Name);
    private static readonly SmtpReply RejectReply = SmtpReply.Create(554, "5.7.1", "Spam message rejected");
    private static readonly SmtpReply LaterReply = SmtpReply.Create(451, "4.7.1", "Try again later");

    private readonly RspamdSettings _settings;
    private readonly CollectedMessage _message;
    private readonly RspamdEnvelope _envelope = new();

    public RspamdFilter(RspamdSettings settings)
    {
        _settings = settings;
        _message = new CollectedMessage(settings.Scanner.MaxSize, new HeaderCounts([], ""));
    }

    [OnConnect]
    public void Connect(ConnectInfo client)
    {
        _envelope.Ip = client.Family is ConnectFamily.IPv4 or ConnectFamily.IPv6 ? client.Address.ToString() : null;
        _envelope.Hostname = client.HostNameString();
    }

    [OnHelo]
    public void Helo(string name) => _envelope.Helo = name;

    [OnMailFrom]
    public void MailFrom(string sender, [Macro("{auth_authen}")] string? login)
    {
        Reset();
        _envelope.From = sender;
        _envelope.User = login;
    }

    [OnRcptTo]
    public void RcptTo(string recipient)
    {
        if (_envelope.Recipients.Count < RspamdEnvelope.MaxRecipients)
        {
            _envelope.Recipients.Add(recipient);
        }
    }

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
            if (await scan.AskAsync(_message.Chunks, deadline => RspamdClient.CheckAsync(_settings.Scanner.Pool, _envelope, queueIdMacro, _message.Chunks, deadline), aborted)
                .ConfigureAwait(false) is not RspamdReply reply)
            {
                return scan.Fallback;
            }

            string action = reply.Action!.ToLowerInvariant();
            string result = string.Create(CultureInfo.InvariantCulture, $"{LogText.Escape(action)}, score {reply.Score} / {reply.RequiredScore}");
            string label = action is "no action" or "greylist" or "add header" or "rewrite subject" or "soft reject" or "reject" or "discard" or "quarantine" ? action : "unknown";
            Verdict verdict;
            switch (action)
            {
                case "reject":
                    return scan.Decided(label, result, "reject", Verdict.RejectWith(Reply(554, "5.7.1", reply.SmtpMessage, RejectReply)));
                case "soft reject" or "greylist":
                    return scan.Decided(label, result, "tempfail", Verdict.TempFailWith(Reply(451, "4.7.1", reply.SmtpMessage, LaterReply)));
                case "discard":
                    return scan.Decided(label, result, "discard", Verdict.Discard);
                case "quarantine":
                    editor.Quarantine(ScanHeaders.Printable(reply.SmtpMessage ?? "rspamd: quarantine"));
                    verdict = Verdict.Accept;
                    break;
                default:
                    verdict = Verdict.Continue;
                    break;
            }

            ApplyMilterBlock(editor, reply.Milter);
            if (action == "add header")
            {
                editor.AddHeader(_settings.SpamHeader, "Yes");
            }
            else if (action == "rewrite subject" && reply.Subject is string subject && subject != _message.Subject)
            {
                editor.ChangeHeader("Subject", 1, subject);
            }

            return scan.Decided(label, result, label == "unknown" ? "continue (unknown action)" : action, verdict);
        }
        finally
        {
            Reset();
        }
    }

    [OnAbort]
    public void Abort() => Reset();

    [OnClose]
    public void Close()
    {
        Reset();
        _envelope.Ip = _envelope.Hostname = _envelope.Helo = null;
    }

    /// <summary>A reply with rspamd's message when it gave a usable one, <paramref name="fallback"/> otherwise.</summary>
    private static SmtpReply Reply(int code, string status, string? message, SmtpReply fallback)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return fallback;
        }

        try
        {
            return SmtpReply.Create(code, status, ScanHeaders.Printable(message));
        }
        catch (ArgumentException)
        {
            return fallback;
        }
    }

    /// <summary>The removals first (they count the fields the message came with), then the additions, as rspamd's proxy applies them.</summary>
    private void ApplyMilterBlock(MessageEditor editor, RspamdMilterBlock? block)
    {
        foreach ((string name, int which) in block?.RemoveHeaders ?? [])
        {
            int count = _message.Headers.Of(name);
            int first = which == 0 ? 1 : which > 0 ? which : count + 1 + which;
            int last = which == 0 ? count : first;
            for (int i = last; i >= first && i >= 1 && i <= count; i--)
            {
                editor.DeleteHeader(name, i);
            }
        }

        foreach ((string name, JsonElement value) in block?.AddHeaders ?? [])
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in value.EnumerateArray())
                {
                    AddHeader(editor, name, item);
                }
            }
            else
            {
                AddHeader(editor, name, value);
            }
        }
    }

    private static void AddHeader(MessageEditor editor, string name, JsonElement value)
    {
        (string? text, int order) = value.ValueKind switch
        {
            JsonValueKind.String => (value.GetString(), -1),
            JsonValueKind.Object when value.TryGetProperty("value", out JsonElement v) && v.ValueKind == JsonValueKind.String
                => (v.GetString(), value.TryGetProperty("order", out JsonElement o) && o.TryGetInt32(out int n) ? n : -1),
            _ => (null, -1),
        };
        if (string.IsNullOrEmpty(text) || name.Length == 0 || name.Any(c => c <= ' ' || c == ':' || c >= 127))
        {
            return;
        }

        if (order < 0)
        {
            editor.AddHeader(name, text);
        }
        else
        {
            editor.InsertHeader(order, name, text);
        }
    }

    private void Reset()
    {
        _message.Reset();
        _envelope.ClearMessage();
    }
}
