using System.Globalization;
using System.Text;

namespace AotMilter.TestFilters;

/// <summary>
/// Does whatever the message asks, so that one filter can show every milter action through a real MTA:
/// <list type="bullet">
/// <item>connect: the verdict named in the control file (<see cref="ControlFile"/>), continue without one;</item>
/// <item>HELO: the verdict named by the first label of the HELO name (<c>EHLO reject.helo.test</c>);</item>
/// <item>MAIL FROM and RCPT TO: the verdict named by the local part (<c>reject@rcpt.test</c>);</item>
/// <item>end of message: every <c>X-Test-Action</c> header, in order (see <see cref="Perform"/>).</item>
/// </list>
/// Verdict words: <c>reject</c>, <c>tempfail</c>, <c>discard</c>, <c>accept</c>, <c>reply</c> (550 with a custom
/// single-line text), <c>reply-multi</c> (550, three lines), <c>reply-tempfail</c> (451, custom text),
/// <c>reply-percent</c> (550 with a literal '%' in the text); anything else continues.
/// </summary>
[Milter("test-actions", Description = "Test filter: performs the actions the message asks for (X-Test-Action headers)")]
public sealed class ActionFilter
{
    public const string ActionHeader = "X-Test-Action";

    public static readonly SmtpReply SingleLine = SmtpReply.Create(550, "5.7.1", "Rejected by the test filter");
    public static readonly SmtpReply MultiLine = SmtpReply.Create(550, "5.7.1", "First line of the test filter", "Second line", "Last line");
    public static readonly SmtpReply TempFailLine = SmtpReply.Create(451, "4.7.1", "Try again, says the test filter");
    public static readonly SmtpReply PercentLine = SmtpReply.Create(550, "5.7.1", "100% rejected by the test filter");

    private readonly List<string> _actions = [];

    [OnConnect]
    public Verdict Connect() => VerdictNamed(ControlFile.Read("connect"));

    [OnHelo]
    public Verdict Helo(ReadOnlySpan<byte> name)
    {
        string helo = Encoding.UTF8.GetString(name);
        int dot = helo.IndexOf('.', StringComparison.Ordinal);
        return VerdictNamed(dot < 0 ? helo : helo[..dot]);
    }

    [OnMailFrom]
    public Verdict MailFrom(EnvelopeAddress sender)
    {
        _actions.Clear();
        return VerdictNamed(LocalPart(sender));
    }

    [OnRcptTo]
    public Verdict RcptTo(EnvelopeAddress recipient) => VerdictNamed(LocalPart(recipient));

    [OnHeader]
    public void Header(HeaderField header)
    {
        if (header.NameIs(ActionHeader))
        {
            // Folded values arrive with LF + white space; an action is one logical line.
            _actions.Add(string.Join(' ', header.ValueString().Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    [OnEndOfMessage]
    public Verdict EndOfMessage(MessageEditor editor)
    {
        Verdict verdict = Verdict.Continue;
        foreach (string action in _actions)
        {
            verdict = Perform(action, editor, verdict);
        }

        _actions.Clear();
        return verdict;
    }

    [OnAbort]
    public void Abort() => _actions.Clear();

    /// <summary>Maps a verdict word to its verdict (continue for anything else).</summary>
    public static Verdict VerdictNamed(string? word) => word switch
    {
        "reject" => Verdict.Reject,
        "tempfail" => Verdict.TempFail,
        "discard" => Verdict.Discard,
        "accept" => Verdict.Accept,
        "reply" => Verdict.RejectWith(SingleLine),
        "reply-multi" => Verdict.RejectWith(MultiLine),
        "reply-tempfail" => Verdict.TempFailWith(TempFailLine),
        "reply-percent" => Verdict.RejectWith(PercentLine),
        _ => Verdict.Continue,
    };

    /// <summary>
    /// One action: <c>add-header NAME VALUE…</c>, <c>insert-header INDEX NAME VALUE…</c>, <c>change-header NAME
    /// INDEX VALUE…</c>, <c>delete-header NAME INDEX</c>, <c>add-rcpt ADDRESS [ESMTP-ARGS…]</c>, <c>delete-rcpt
    /// ADDRESS</c>, <c>change-from ADDRESS [ESMTP-ARGS…]</c>, <c>replace-body BYTES</c> (generated lines),
    /// <c>replace-body-text TEXT…</c> ("\n" = line break), <c>quarantine REASON…</c>, <c>progress SECONDS</c>
    /// (works that long, sending progress twice a second), <c>sleep SECONDS</c> (works that long, silently),
    /// <c>verdict WORD</c> (the final verdict).
    /// </summary>
    private static Verdict Perform(string action, MessageEditor editor, Verdict verdict)
    {
        string[] words = action.Split(' ');
        string Rest(int from) => string.Join(' ', words[from..]);
        int Number(int at) => int.Parse(words[at], CultureInfo.InvariantCulture);
        switch (words[0])
        {
            case "add-header":
                editor.AddHeader(words[1], Unescape(Rest(2)));
                break;
            case "insert-header":
                editor.InsertHeader(Number(1), words[2], Unescape(Rest(3)));
                break;
            case "change-header":
                editor.ChangeHeader(words[1], Number(2), Unescape(Rest(3)));
                break;
            case "delete-header":
                editor.DeleteHeader(words[1], Number(2));
                break;
            case "add-rcpt" when words.Length > 2:
                editor.AddRecipient(words[1], Rest(2));
                break;
            case "add-rcpt":
                editor.AddRecipient(words[1]);
                break;
            case "delete-rcpt":
                editor.DeleteRecipient(words[1]);
                break;
            case "change-from":
                editor.ChangeSender(words[1], words.Length > 2 ? Rest(2) : default);
                break;
            case "replace-body":
                editor.ReplaceBody(GeneratedBody(Number(1)));
                break;
            case "replace-body-text":
                editor.ReplaceBody(Encoding.UTF8.GetBytes(Unescape(Rest(1)).Replace("\n", "\r\n", StringComparison.Ordinal)));
                break;
            case "quarantine":
                editor.Quarantine(Rest(1));
                break;
            case "progress":
                Work(TimeSpan.FromSeconds(Number(1)), editor.Progress);
                break;
            case "sleep":
                Work(TimeSpan.FromSeconds(Number(1)), null);
                break;
            case "verdict":
                return VerdictNamed(words[1]);
            default:
                throw new InvalidOperationException($"unknown test action '{action}'");
        }

        return verdict;
    }

    /// <summary>"\n" and "\t" written in an action stand for a line break and a tab (to fold a header value).</summary>
    private static string Unescape(string text) => text.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);

    private static void Work(TimeSpan duration, Action? progress)
    {
        DateTime end = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < end)
        {
            Thread.Sleep(500);
            progress?.Invoke();
        }
    }

    /// <summary>A deterministic body of exactly <paramref name="bytes"/> bytes in CRLF lines of at most 78 characters.</summary>
    public static byte[] GeneratedBody(int bytes)
    {
        var body = new StringBuilder(bytes + 80);
        for (int line = 0; body.Length < bytes; line++)
        {
            body.Append(CultureInfo.InvariantCulture, $"replaced line {line:D6} ").Append((char)('a' + (line % 26)), 50).Append("\r\n");
        }

        body.Length = bytes;
        if (bytes >= 2)
        {
            body[bytes - 2] = '\r';
            body[bytes - 1] = '\n';
        }

        return Encoding.ASCII.GetBytes(body.ToString());
    }

    private static string LocalPart(EnvelopeAddress address)
    {
        string text = address.Address.ToString();
        int at = text.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? text : text[..at];
    }
}
