namespace AotMilter.Mta.Model;

/// <summary>
/// How one MTA behaves around its milter: the message store it keeps, the SMTP replies it gives for each milter
/// answer, the macros it sends, the queue ids it makes. The wording of every reply was taken from Postfix 3.7.11 and
/// Sendmail 8.17.1.9 and is checked by the end-to-end tests.
/// </summary>
internal abstract class MtaModel
{
    private int _queueCounter;

    protected MtaModel(MtaProfile profile)
    {
        Profile = profile;
    }

    public MtaProfile Profile { get; }

    public static MtaModel For(MtaProfile profile) => profile.Kind == MtaKind.Postfix ? new PostfixModel(profile) : new SendmailModel(profile);

    public abstract MtaMessage NewMessage(MessageContext context);

    /// <summary>True when the MTA sends ABORT after each finished message (Postfix).</summary>
    public abstract bool AbortsAfterEveryMessage { get; }

    /// <summary>The macro <c>i</c> is known from this stage on (Postfix: DATA, or a later recipient; Sendmail: MAIL).</summary>
    public abstract bool QueueIdKnown(char stage, int acceptedRecipients);

    /// <summary>The value of a macro, or null when the MTA would not have one.</summary>
    public virtual string? MacroValue(string name, MacroValues values) => name switch
    {
        "j" => Profile.HostName,
        "_" => $"{values.Client.HostName} [{values.Client.Address}]",
        "i" => values.QueueId,
        "{mail_addr}" => values.Sender?.Address,
        "{mail_host}" => values.Sender is null ? null : Domain(values.Sender.Address),
        "{rcpt_addr}" => values.Recipient?.Address,
        "{rcpt_host}" => values.Recipient is null ? null : Domain(values.Recipient.Address),
        _ => null,
    };

    /// <summary>
    /// What the client sees because of the milter's answer at <paramref name="stage"/>, or null when the MTA goes on
    /// as usual. <paramref name="address"/> is the sender or recipient for MAIL and RCPT.
    /// </summary>
    public SmtpResponse? Respond(MilterEvent stage, MilterReply reply, string? address)
    {
        if (reply.IsRejection)
        {
            return Reject(stage, reply.Kind == MilterReplyKind.ReplyCode ? reply : null, address);
        }

        if (reply.IsTemporaryFailure)
        {
            return TempFail(stage, reply.Kind == MilterReplyKind.ReplyCode ? reply : null, address);
        }

        return reply.Kind == MilterReplyKind.Shutdown
            ? new SmtpResponse(421, $"4.7.0 {Profile.HostName} Error: shutting down", At(stage))
            : null;
    }

    protected abstract SmtpResponse Reject(MilterEvent stage, MilterReply? custom, string? address);

    protected abstract SmtpResponse TempFail(MilterEvent stage, MilterReply? custom, string? address);

    /// <summary>The reply to a command the MTA accepts.</summary>
    public abstract SmtpResponse Accepted(SmtpCommand command, string? address, string queueId);

    /// <summary>The reply to DATA when every recipient was refused.</summary>
    public abstract SmtpResponse NoValidRecipients { get; }

    public string NewQueueId()
    {
        int n = Interlocked.Increment(ref _queueCounter);
        return Profile.Kind == MtaKind.Postfix
            ? $"4B{Environment.ProcessId % 0x1000:X3}{n:X6}"
            : $"6AOG{Environment.ProcessId % 10000:D4}{n:D6}";
    }

    /// <summary>The command at which the client sees a decision taken at <paramref name="stage"/>.</summary>
    protected static SmtpCommand At(MilterEvent stage) => stage switch
    {
        MilterEvent.Connect => SmtpCommand.Greeting,
        MilterEvent.Helo => SmtpCommand.MailFrom,
        MilterEvent.MailFrom => SmtpCommand.MailFrom,
        MilterEvent.RcptTo => SmtpCommand.RcptTo,
        MilterEvent.Data => SmtpCommand.Data,
        _ => SmtpCommand.EndOfData,
    };

    /// <summary>The lines of a custom reply without their codes ("5.7.1 text"), with "%%" turned back into "%".</summary>
    protected static List<string> CustomLines(MilterReply reply)
    {
        var lines = new List<string>();
        foreach (string line in reply.Lines)
        {
            string text = line.Length > 4 ? line[4..] : "";
            lines.Add(text.Replace("%%", "%", StringComparison.Ordinal));
        }

        return lines;
    }

    /// <summary>True when the text has a '%' not written as "%%".</summary>
    protected static bool HasLonePercent(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '%')
            {
                if (i + 1 < text.Length && text[i + 1] == '%')
                {
                    i++;
                    continue;
                }

                return true;
            }
        }

        return false;
    }

    private static string Domain(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? "localhost" : address[(at + 1)..];
    }
}

/// <summary>What macro values are filled from.</summary>
internal sealed record MacroValues(SmtpClientInfo Client, string? QueueId, SmtpAddress? Sender, SmtpAddress? Recipient, string? MessageId);

internal sealed class PostfixModel(MtaProfile profile) : MtaModel(profile)
{
    public override bool AbortsAfterEveryMessage => true;

    public override MtaMessage NewMessage(MessageContext context) => new PostfixMessage(context);

    public override bool QueueIdKnown(char stage, int acceptedRecipients) =>
        stage is 'T' or 'N' or 'E' or 'L' or 'B' || (stage == 'R' && acceptedRecipients > 0);

    public override string? MacroValue(string name, MacroValues values) => name switch
    {
        "{daemon_name}" => Profile.HostName,
        "{daemon_addr}" => "203.0.113.25",
        "v" => "Postfix 3.7.11",
        "{mail_mailer}" => values.Sender is null ? null : "smtp",
        "{rcpt_mailer}" => values.Recipient is null ? null : "smtp",
        _ => base.MacroValue(name, values),
    };

    public override SmtpResponse NoValidRecipients => new(554, "5.5.1 Error: no valid recipients", SmtpCommand.Data);

    public override SmtpResponse Accepted(SmtpCommand command, string? address, string queueId) => command switch
    {
        SmtpCommand.MailFrom => new SmtpResponse(250, "2.1.0 Ok", command),
        SmtpCommand.RcptTo => new SmtpResponse(250, "2.1.5 Ok", command),
        SmtpCommand.EndOfData => new SmtpResponse(250, $"2.0.0 Ok: queued as {queueId}", command),
        _ => new SmtpResponse(250, "2.0.0 Ok", command),
    };

    /// <summary>
    /// smtpd: a reject at connect closes with a 554 greeting; later ones answer the command (a HELO decision is
    /// reported at MAIL FROM); header, body and end-of-message decisions answer the final dot. Custom text is used
    /// as sent, with "%%" turned into "%" and a lone '%' dropped.
    /// </summary>
    protected override SmtpResponse Reject(MilterEvent stage, MilterReply? custom, string? address)
    {
        if (stage == MilterEvent.Connect)
        {
            return new SmtpResponse(554, $"{Profile.HostName} ESMTP not accepting connections", SmtpCommand.Greeting);
        }

        return custom is null
            ? new SmtpResponse(550, "5.7.1 Command rejected", At(stage))
            : new SmtpResponse(custom.Code, Postfix(custom), At(stage));
    }

    protected override SmtpResponse TempFail(MilterEvent stage, MilterReply? custom, string? address)
    {
        SmtpCommand at = stage == MilterEvent.Connect ? SmtpCommand.MailFrom : At(stage);
        return custom is null
            ? new SmtpResponse(451, "4.7.1 Service unavailable - try again later", at)
            : new SmtpResponse(custom.Code, Postfix(custom), at);
    }

    private static List<string> Postfix(MilterReply custom) =>
        [.. custom.Lines.Select(l => (l.Length > 4 ? l[4..] : "").Replace("%%", "\u0001", StringComparison.Ordinal)
            .Replace("%", "", StringComparison.Ordinal).Replace('\u0001', '%'))];
}

internal sealed class SendmailModel(MtaProfile profile) : MtaModel(profile)
{
    public override bool AbortsAfterEveryMessage => false;

    public override MtaMessage NewMessage(MessageContext context) => new SendmailMessage(context);

    public override bool QueueIdKnown(char stage, int acceptedRecipients) => stage is not ('C' or 'H');

    public override string? MacroValue(string name, MacroValues values) => name switch
    {
        "{daemon_name}" => "MTA",
        "{if_name}" => Profile.HostName,
        "{if_addr}" => "203.0.113.25",
        "{mail_mailer}" => values.Sender is null ? null : "esmtp",
        "{rcpt_mailer}" => values.Recipient is null ? null : "esmtp",
        "{msg_id}" => values.MessageId,
        _ => base.MacroValue(name, values),
    };

    public override SmtpResponse NoValidRecipients => new(503, "5.0.0 Need RCPT (recipient)", SmtpCommand.Data);

    public override SmtpResponse Accepted(SmtpCommand command, string? address, string queueId) => command switch
    {
        SmtpCommand.MailFrom => new SmtpResponse(250, $"2.1.0 <{address}>... Sender ok", command),
        SmtpCommand.RcptTo => new SmtpResponse(250, $"2.1.5 <{address}>... Recipient ok", command),
        SmtpCommand.EndOfData => new SmtpResponse(250, $"2.0.0 {queueId} Message accepted for delivery", command),
        _ => new SmtpResponse(250, "2.0.0 OK", command),
    };

    /// <summary>
    /// A reject at connect gives a 554 greeting; at HELO every later command gets the reply; at MAIL and RCPT the
    /// address is put in front of the text ("&lt;a@example.org&gt;... "); after DATA the default is 554. Custom text
    /// with a lone '%' is replaced by the default text (Sendmail uses it as a format string).
    /// </summary>
    protected override SmtpResponse Reject(MilterEvent stage, MilterReply? custom, string? address)
    {
        if (stage == MilterEvent.Connect)
        {
            return new SmtpResponse(554, $"{Profile.HostName} ESMTP not accepting messages", SmtpCommand.Greeting);
        }

        if (custom is not null && HasLonePercent(custom.Text!))
        {
            custom = null;
        }

        bool addressed = stage is MilterEvent.MailFrom or MilterEvent.RcptTo && address is not null;
        if (custom is null)
        {
            (int code, string text) = stage switch
            {
                MilterEvent.Helo => (550, "5.0.0 Command rejected"),
                MilterEvent.MailFrom or MilterEvent.RcptTo => (550, $"5.7.1 <{address}>... Command rejected"),
                _ => (554, "5.7.1 Command rejected"),
            };
            return new SmtpResponse(code, text, At(stage));
        }

        List<string> lines = CustomLines(custom);
        if (addressed)
        {
            lines[0] = WithAddress(lines[0], address!);
        }

        return new SmtpResponse(custom.Code, lines, At(stage));
    }

    protected override SmtpResponse TempFail(MilterEvent stage, MilterReply? custom, string? address)
    {
        if (custom is not null && (stage == MilterEvent.Connect || HasLonePercent(custom.Text!)))
        {
            // Sendmail ignores the text of a reply at connect (unless built with _FFR_MILTER_CONNECT_REPLYCODE).
            custom = null;
        }

        SmtpCommand at = stage == MilterEvent.Connect ? SmtpCommand.MailFrom : At(stage);
        return custom is null
            ? new SmtpResponse(451, "4.3.2 Please try again later", at)
            : new SmtpResponse(custom.Code, CustomLines(custom), at);
    }

    /// <summary>"5.7.1 text" becomes "5.7.1 &lt;address&gt;... text".</summary>
    private static string WithAddress(string line, string address)
    {
        string[] words = line.Split(' ', 2);
        bool enhanced = words.Length == 2 && words[0].Count(c => c == '.') == 2 && char.IsAsciiDigit(words[0][0]);
        return enhanced ? $"{words[0]} <{address}>... {words[1]}" : $"<{address}>... {line}";
    }
}
