using System.Net.Sockets;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.Testing.Mta;
using Microsoft.Extensions.Logging;

namespace AotMilter.Testing;

/// <summary>
/// An MTA in a library: plays Postfix or Sendmail (<see cref="MtaProfile"/>) against a milter and tells what that MTA
/// would do. The milter is either a filter chain run in-process by the real server (<see cref="MilterServer"/>,
/// through its generated dispatchers, over a socket pair: the real wire protocol, no shortcut), or any milter on a
/// socket (<see cref="ForSocket"/>), whatever it is written in.
/// <code>
/// await using var mta = new TestMta(MtaProfile.Postfix, MilterCatalog.Registrations);
/// MessageResult result = await mta.SendAsync(Email.Load("spam.eml"), "a@example.org", "b@example.net");
/// Assert.Equal(MessageOutcome.Rejected, result.Outcome);
/// </code>
/// Each <see cref="SendAsync(Email, Envelope)"/> is one SMTP connection (new filter instances); use
/// <see cref="OpenSessionAsync"/> to drive a connection step by step or to send several messages on it.
/// </summary>
public sealed class TestMta : IAsyncDisposable
{
    private readonly MilterServer? _server;
    private readonly string? _socket;
    private readonly MtaModel _model;
    private readonly KitLog _log = new();

    /// <summary>Plays <paramref name="profile"/> against these filters, chained in order, in this process.</summary>
    public TestMta(MtaProfile profile, params MilterRegistration[] filters)
        : this(profile, (IReadOnlyList<MilterRegistration>)filters)
    {
    }

    /// <summary>
    /// Plays <paramref name="profile"/> against these filters, chained in order, in this process. <paramref name="options"/>
    /// tunes the server as the daemon's command line would (fallback verdict, no-reply flags); its socket is not used.
    /// </summary>
    public TestMta(MtaProfile profile, IReadOnlyList<MilterRegistration> filters, MilterServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(filters);
        Profile = profile;
        _model = MtaModel.For(profile);
        options ??= new MilterServerOptions { Socket = SocketSpec.Parse("unix:/dev/null") };
        _server = new MilterServer(new FilterChain(filters), options, _log);
    }

    private TestMta(MtaProfile profile, string socket)
    {
        Profile = profile;
        _model = MtaModel.For(profile);
        _socket = socket;
    }

    /// <summary>Plays <paramref name="profile"/> against the milter listening on <paramref name="socketSpec"/>
    /// (<c>unix:/path</c>, <c>inet:PORT@HOST</c>, <c>inet6:PORT@HOST</c>).</summary>
    public static TestMta ForSocket(string socketSpec, MtaProfile profile)
    {
        ArgumentNullException.ThrowIfNull(socketSpec);
        ArgumentNullException.ThrowIfNull(profile);
        _ = SocketSpec.Parse(socketSpec);
        return new TestMta(profile, socketSpec);
    }

    public MtaProfile Profile { get; }

    /// <summary>How long the MTA waits for each answer (progress restarts the wait at end of message).</summary>
    public TimeSpan Timeout { get; set; } = MilterClient.DefaultTimeout;

    /// <summary>The SMTP client the MTA reports to the milter (address, host name, HELO name).</summary>
    public SmtpClientInfo Client { get; set; } = new();

    /// <summary>The clock for arrival times (Date, Received).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>What the in-process server and the filters logged (context.Logger included), one line each.</summary>
    public IReadOnlyList<string> Log => _log.Lines;

    /// <summary>Opens a milter connection and negotiates as the profile's MTA does; the SMTP conversation is yours.</summary>
    public async Task<MtaSession> OpenSessionAsync(SmtpClientInfo? client = null)
    {
        MilterClient milter;
        Task? serving = null;
        if (_server is not null)
        {
            (Socket mtaSide, Socket milterSide) = SocketPair.Create();
            serving = _server.ServeAsync(milterSide);
            milter = new MilterClient(mtaSide, Timeout);
        }
        else
        {
            milter = await MilterClient.ConnectAsync(_socket!, Timeout).ConfigureAwait(false);
        }

        milter.QuarantineAtAnyStage = Profile.Kind == MtaKind.Postfix;
        milter.ProgressOnlyAtEndOfMessage = Profile.Kind == MtaKind.Sendmail;
        try
        {
            NegotiationResult negotiated = await milter.NegotiateAsync(Profile.ProtocolVersion, Profile.OfferedActions, Profile.OfferedProtocol).ConfigureAwait(false);
            return new MtaSession(this, _model, milter, negotiated, client ?? Client, serving);
        }
        catch
        {
            await milter.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One SMTP connection, one message: connect, HELO, the message, QUIT.</summary>
    public async Task<MessageResult> SendAsync(Email message, Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(envelope);
        await using MtaSession session = await OpenSessionAsync().ConfigureAwait(false);
        await session.ConnectAsync().ConfigureAwait(false);
        await session.HeloAsync().ConfigureAwait(false);
        return await session.SendMessageAsync(message, envelope).ConfigureAwait(false);
    }

    /// <summary>One message from <paramref name="from"/> to <paramref name="recipients"/> (each may carry ESMTP
    /// parameters after a space: "b@example.net NOTIFY=NEVER").</summary>
    public Task<MessageResult> SendAsync(Email message, string from, params string[] recipients) =>
        SendAsync(message, Envelope.Of(from, recipients));

    /// <summary>One message given as text (see <see cref="Email.Parse(string)"/>).</summary>
    public Task<MessageResult> SendAsync(string message, string from, params string[] recipients) =>
        SendAsync(Email.Parse(message), Envelope.Of(from, recipients));

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
