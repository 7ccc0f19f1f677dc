using System.Text;
using AotMilter.Protocol;
using AotMilter.Mta.Model;

namespace AotMilter.Mta;

/// <summary>
/// One SMTP connection of the simulated MTA, with its milter connection (already negotiated). Drive it step by step
/// (<see cref="ConnectAsync"/>, <see cref="HeloAsync"/>, <see cref="MailFromAsync"/>, <see cref="RcptToAsync"/>,
/// <see cref="DataAsync"/>, <see cref="HeaderAsync(string, string)"/>, <see cref="EndOfHeadersAsync"/>,
/// <see cref="BodyAsync(ReadOnlyMemory{byte})"/>, <see cref="EndOfMessageAsync"/>) or send whole messages with
/// <see cref="SendMessageAsync"/>; several messages may follow each other on one session. The session behaves as the
/// profile's MTA does: it sends the macros of each stage, does not send events the milter declined or that follow a
/// decision, sends ABORT where that MTA does, and records what the SMTP client would see. Dispose sends QUIT and waits
/// until the milter's session ended (its close callbacks ran). Not thread-safe.
/// </summary>
public sealed partial class MtaSession : IAsyncDisposable
{
    private const int MaxChunk = MilterFrameWriter.MaxChunkSize;

    private readonly SimulatedMta _mta;
    private readonly MtaModel _model;
    private readonly Task? _serving;
    private readonly Dictionary<char, Dictionary<string, string?>> _macroOverrides = [];
    private SmtpResponse? _refusal;
    private string? _refusedAt;
    private string? _unfilteredAt;
    private Transaction? _tx;
    private bool _disposed;

    internal MtaSession(SimulatedMta mta, MtaModel model, MilterClient client, NegotiationResult negotiation, SmtpClientInfo smtpClient, Task? serving)
    {
        _mta = mta;
        _model = model;
        Client = client;
        Negotiation = negotiation;
        SmtpClient = smtpClient;
        _serving = serving;
    }

    public MtaProfile Profile => _model.Profile;

    /// <summary>The MTA-side protocol client underneath, for anything the session does not offer.</summary>
    public MilterClient Client { get; }

    /// <summary>What the milter answered to option negotiation.</summary>
    public NegotiationResult Negotiation { get; }

    /// <summary>The SMTP client this session pretends to be.</summary>
    public SmtpClientInfo SmtpClient { get; }

    /// <summary>Results of the connection-level stages (connect, HELO).</summary>
    public IReadOnlyList<StageResult> ConnectionStages => _connectionStages;

    private readonly List<StageResult> _connectionStages = [];

    private bool _connectSent;
    private bool _heloSent;

    /// <summary>
    /// True (the default): a message started before <see cref="ConnectAsync"/> or <see cref="HeloAsync"/> first has the
    /// session connect and greet, as every SMTP client does. False: the session sends only what it is told (to play a
    /// conversation that skips them on purpose).
    /// </summary>
    public bool GreetsByItself { get; set; } = true;

    private bool LeadingSpace => (Negotiation.EffectiveProtocol & ProtocolFlags.HeaderLeadingSpace) != 0;

    /// <summary>
    /// Sets a macro for a stage ('C', 'H', 'M', 'R', 'T', 'N', 'E'; Postfix also 'L', 'B'), replacing the profile's
    /// value; a null value removes it. Applies to every later event of that stage.
    /// </summary>
    public void SetMacro(char stage, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_macroOverrides.TryGetValue(stage, out Dictionary<string, string?>? values))
        {
            _macroOverrides[stage] = values = [];
        }

        values[name] = value;
    }

    // -----------------------------------------------------------------------------------------------------------
    // Connection stages

    /// <summary>The client connects: macros C, then connect.</summary>
    public async Task<StageResult> ConnectAsync()
    {
        _connectSent = true;
        if (Declined(ProtocolFlags.NoConnect, MilterEvent.Connect, SmtpClient.HostName, out StageResult? skipped))
        {
            return RecordConnection(skipped);
        }

        await SendMacrosAsync('C').ConfigureAwait(false);
        MilterReply reply = await Client.ConnectAsync(SmtpClient.HostName, SmtpClient.Family, SmtpClient.Port, SmtpClient.Address).ConfigureAwait(false);
        return RecordConnection(ConnectionVerdict(MilterEvent.Connect, SmtpClient.HostName, reply));
    }

    /// <summary>EHLO: macros H, then HELO with <paramref name="name"/> (default: the client's HELO name).</summary>
    public async Task<StageResult> HeloAsync(string? name = null)
    {
        _heloSent = true;
        name ??= SmtpClient.Helo;
        if (NotFiltered(MilterEvent.Helo, name, out StageResult? skipped)
            || Declined(ProtocolFlags.NoHelo, MilterEvent.Helo, name, out skipped))
        {
            return RecordConnection(skipped);
        }

        await SendMacrosAsync('H').ConfigureAwait(false);
        MilterReply reply = await Client.HeloAsync(name).ConfigureAwait(false);
        return RecordConnection(ConnectionVerdict(MilterEvent.Helo, name, reply));
    }

    // -----------------------------------------------------------------------------------------------------------
    // Message stages

    /// <summary>MAIL FROM: starts a message (the previous one, if unfinished, is abandoned as by RSET).</summary>
    public async Task<StageResult> MailFromAsync(string sender, params string[] parameters)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (GreetsByItself && !_connectSent)
        {
            await ConnectAsync().ConfigureAwait(false);
        }

        if (GreetsByItself && !_heloSent)
        {
            await HeloAsync().ConfigureAwait(false);
        }

        if (_tx is { Finished: false })
        {
            await ResetAsync().ConfigureAwait(false);
        }

        var address = new SmtpAddress(SmtpAddress.Strip(sender), parameters ?? []);
        _tx = new Transaction(address, _model.NewQueueId(), _mta.Clock.GetUtcNow()) { Unfiltered = _unfilteredAt };
        if (_refusal is not null)
        {
            return Finish(new StageResult(MilterEvent.MailFrom, address.Path, null, _refusal with { At = SmtpCommand.MailFrom },
                $"the connection was refused at {_refusedAt}"), MessageOutcomeFor(_refusal), _refusal with { At = SmtpCommand.MailFrom });
        }

        if (NotFiltered(MilterEvent.MailFrom, address.Path, out StageResult? skipped)
            || Declined(ProtocolFlags.NoMail, MilterEvent.MailFrom, address.Path, out skipped))
        {
            return Record(skipped with { Smtp = _model.Accepted(SmtpCommand.MailFrom, address.Address, _tx.QueueId) });
        }

        await SendMacrosAsync('M').ConfigureAwait(false);
        _tx.MilterStarted = true;
        MilterReply reply = await Client.MailFromAsync(address.Path, [.. address.Parameters]).ConfigureAwait(false);
        return await MessageVerdictAsync(MilterEvent.MailFrom, address.Path, reply, address.Address).ConfigureAwait(false);
    }

    /// <summary>RCPT TO: a reject or tempfail refuses this recipient only.</summary>
    public async Task<StageResult> RcptToAsync(string recipient, params string[] parameters)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        Transaction tx = RequireTransaction("RCPT TO");
        var address = new SmtpAddress(SmtpAddress.Strip(recipient), parameters ?? []);
        if (tx.Finished)
        {
            return Record(NotSent(MilterEvent.RcptTo, address.Path, tx.FinishedBecause));
        }

        tx.Current = address;
        if (tx.Unfiltered is not null || Declined(ProtocolFlags.NoRcpt, MilterEvent.RcptTo, address.Path, out _))
        {
            tx.Accepted.Add(address);
            string reason = tx.Unfiltered ?? "the milter declined RCPT events in negotiation";
            return Record(NotSent(MilterEvent.RcptTo, address.Path, reason) with { Smtp = _model.Accepted(SmtpCommand.RcptTo, address.Address, tx.QueueId) });
        }

        await SendMacrosAsync('R').ConfigureAwait(false);
        MilterReply reply = await Client.RcptToAsync(address.Path, [.. address.Parameters]).ConfigureAwait(false);
        NoteEarlyQuarantine();
        SmtpResponse? smtp = _model.Respond(MilterEvent.RcptTo, reply, address.Address);
        if (reply.IsRejection || reply.IsTemporaryFailure)
        {
            tx.Refused.Add(address);
            return Record(new StageResult(MilterEvent.RcptTo, address.Path, reply, smtp));
        }

        tx.Accepted.Add(address);
        if (reply.Kind is MilterReplyKind.Discard or MilterReplyKind.Accept)
        {
            return await MessageVerdictAsync(MilterEvent.RcptTo, address.Path, reply, address.Address).ConfigureAwait(false);
        }

        return Record(new StageResult(MilterEvent.RcptTo, address.Path, reply, _model.Accepted(SmtpCommand.RcptTo, address.Address, tx.QueueId)));
    }

    /// <summary>DATA (protocol version 4 and later). With no recipient left, the MTA refuses DATA and the message ends.</summary>
    public async Task<StageResult> DataAsync()
    {
        Transaction tx = RequireTransaction("DATA");
        if (tx.Finished)
        {
            return Record(NotSent(MilterEvent.Data, null, tx.FinishedBecause));
        }

        if (tx.Accepted.Count == 0)
        {
            await AbandonAsync().ConfigureAwait(false);
            return Finish(NotSent(MilterEvent.Data, null, "no recipient was accepted") with { Smtp = _model.NoValidRecipients },
                MessageOutcome.Rejected, _model.NoValidRecipients);
        }

        tx.Store ??= _model.NewMessage(tx.Context(Profile, SmtpClient));
        if (tx.Unfiltered is not null || Negotiation.Version < 4
            || Declined(ProtocolFlags.NoData, MilterEvent.Data, null, out _))
        {
            return Record(NotSent(MilterEvent.Data, null, tx.Unfiltered ?? (Negotiation.Version < 4
                ? $"DATA events do not exist in protocol version {Negotiation.Version}"
                : "the milter declined DATA events in negotiation")));
        }

        await SendMacrosAsync('T').ConfigureAwait(false);
        MilterReply reply = await Client.DataAsync().ConfigureAwait(false);
        return await MessageVerdictAsync(MilterEvent.Data, null, reply, null).ConfigureAwait(false);
    }

    /// <summary>
    /// One header field, given as in the message: <paramref name="value"/> is what follows "Name: " (folded lines
    /// separated by "\n" + white space). The milter gets it as the MTA passes it: without the space after the colon
    /// unless it negotiated HDR_LEADSPC.
    /// </summary>
    public Task<StageResult> HeaderAsync(string name, string value) => HeaderAsync(EmailHeader.Create(name, value));

    /// <summary>One header field of an <see cref="Email"/>.</summary>
    public async Task<StageResult> HeaderAsync(EmailHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        Transaction tx = RequireData("a header");
        tx.Store!.AddClientHeader(header);
        return await SendHeaderAsync(tx, header.NameBytes, header.ValueBytes).ConfigureAwait(false);
    }

    /// <summary>End of headers.</summary>
    public async Task<StageResult> EndOfHeadersAsync()
    {
        Transaction tx = RequireData("end of headers");
        if (tx.Finished || tx.Unfiltered is not null || Declined(ProtocolFlags.NoEndOfHeaders, MilterEvent.EndOfHeaders, null, out _))
        {
            return Record(NotSent(MilterEvent.EndOfHeaders, null, tx.FinishedBecause ?? tx.Unfiltered ?? "the milter declined end-of-headers events in negotiation"));
        }

        await SendMacrosAsync('N').ConfigureAwait(false);
        MilterReply reply = await Client.EndOfHeadersAsync().ConfigureAwait(false);
        return await MessageVerdictAsync(MilterEvent.EndOfHeaders, null, reply, null).ConfigureAwait(false);
    }

    /// <summary>Body content (CRLF line ends), sent in chunks of at most 65,535 bytes as both MTAs do.</summary>
    public async Task<StageResult> BodyAsync(ReadOnlyMemory<byte> content)
    {
        Transaction tx = RequireData("body content");
        tx.Store!.Body = [.. tx.Store.Body, .. content.Span];
        return await SendBodyAsync(tx, content).ConfigureAwait(false);
    }

    /// <summary>Body text (UTF-8); LF line ends become CRLF.</summary>
    public Task<StageResult> BodyAsync(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BodyAsync(Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal)));
    }

    /// <summary>
    /// End of message: collects the modifications and the final answer, applies them as the MTA does and returns the
    /// result, or the result of an earlier decision when the message was already decided.
    /// </summary>
    public async Task<MessageResult> EndOfMessageAsync()
    {
        Transaction tx = RequireData("end of message");
        if (!tx.Finished && tx.Unfiltered is null)
        {
            await SendMacrosAsync('E').ConfigureAwait(false);
            EndOfMessageResult eom = await Client.EndOfMessageAsync().ConfigureAwait(false);
            tx.EndOfMessage = eom;
            tx.Progress += eom.ProgressCount;
            MilterReply reply = eom.Reply;
            SmtpResponse? smtp = _model.Respond(MilterEvent.EndOfMessage, reply, null);
            var stage = new StageResult(MilterEvent.EndOfMessage, null, reply, smtp ?? _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId));
            tx.Stages.Add(stage);
            if (smtp is not null)
            {
                Conclude(tx, reply.IsRejection ? MessageOutcome.Rejected : MessageOutcome.TempFailed, smtp, null);
            }
            else if (reply.Kind == MilterReplyKind.Discard)
            {
                Conclude(tx, MessageOutcome.Discarded, _model.Accepted(SmtpCommand.EndOfData, null, tx.QueueId), null);
            }
            else
            {
                Apply(tx, eom.Modifications);
            }

            if (_model.AbortsAfterEveryMessage)
            {
                await Client.AbortAsync().ConfigureAwait(false);
            }

            tx.MilterStarted = false;
        }
        else if (tx.Unfiltered is not null && _model.AbortsAfterEveryMessage)
        {
            // Postfix ends every message it told the milter about with ABORT, also one accepted early.
            await AbandonAsync().ConfigureAwait(false);
        }

        return Result(tx);
    }

    /// <summary>
    /// A whole message: MAIL FROM, RCPT TO for each recipient, DATA, the headers and body as this MTA reads and shows
    /// them (its own additions and removals included), end of message; stops where the MTA would stop.
    /// </summary>
    public async Task<MessageResult> SendMessageAsync(Email message, Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(envelope);
        await MailFromAsync(envelope.Sender.Path, [.. envelope.Sender.Parameters]).ConfigureAwait(false);
        Transaction tx = _tx!;
        foreach (SmtpAddress recipient in envelope.Recipients)
        {
            if (tx.Finished)
            {
                break;
            }

            await RcptToAsync(recipient.Path, [.. recipient.Parameters]).ConfigureAwait(false);
        }

        if (tx.Finished)
        {
            return Result(tx);
        }

        await DataAsync().ConfigureAwait(false);
        if (tx.Finished)
        {
            return Result(tx);
        }

        tx.Store!.Receive(message);
        if (tx.Store.IntakeRefusal is { } refusal)
        {
            await AbandonAsync().ConfigureAwait(false);
            Conclude(tx, MessageOutcomeFor(refusal), refusal, null);
            return Result(tx);
        }

        if (tx.Unfiltered is null)
        {
            foreach ((byte[] name, byte[] value) in tx.Store.MilterHeaders)
            {
                await SendHeaderAsync(tx, name, value).ConfigureAwait(false);
                if (tx.Finished || tx.Unfiltered is not null)
                {
                    break;
                }
            }
        }

        if (!tx.Finished && tx.Unfiltered is null)
        {
            await EndOfHeadersAsync().ConfigureAwait(false);
        }

        if (!tx.Finished && tx.Unfiltered is null && tx.Store.Body.Length > 0)
        {
            await SendBodyAsync(tx, tx.Store.Body).ConfigureAwait(false);
        }

        return tx.Finished ? Result(tx) : await EndOfMessageAsync().ConfigureAwait(false);
    }

    /// <summary>RSET: abandons the current message (the milter gets ABORT if it was told about it).</summary>
    public async Task ResetAsync()
    {
        if (_tx is { Finished: false })
        {
            await AbandonAsync().ConfigureAwait(false);
            _tx.Finished = true;
            _tx.FinishedBecause = "the message was abandoned (RSET)";
        }
    }

    /// <summary>QUIT: ends the milter session and waits until the milter closed its side.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await Client.QuitAsync().ConfigureAwait(false);
            await Client.WaitForCloseAsync(_mta.Timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // The milter may already have closed: that is its right after QUIT.
        }
        finally
        {
            await Client.DisposeAsync().ConfigureAwait(false);
            if (_serving is not null)
            {
                // The close callbacks have run when the server's side ends. A filter still busy (it ignored a timeout)
                // is left to the server, which cuts it when the in-process MTA is disposed.
                await Task.WhenAny(_serving, Task.Delay(_mta.Timeout)).ConfigureAwait(false);
            }
        }
    }
}
