using AotMilter.Mta.Model;
using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>
/// An MTA in a library: plays Postfix or Sendmail (<see cref="MtaProfile"/>) against a milter on a socket, whatever it
/// is written in, and tells what that MTA would do with each message: the replies, and the message it would deliver.
/// <code>
/// await using var mta = SimulatedMta.ForSocket("unix:/run/milter.sock", MtaProfile.Postfix);
/// MessageResult result = await mta.SendAsync(Email.Load("spam.eml"), "a@example.org", "b@example.net");
/// </code>
/// Each <see cref="SendAsync(Email, Envelope)"/> is one SMTP connection; use <see cref="OpenSessionAsync"/> to drive a
/// connection step by step or to send several messages on it. A subclass decides how the milter is reached
/// (<see cref="OpenMilterAsync"/>): the filter authors' kit runs the real server in-process over a socket pair.
/// </summary>
public class SimulatedMta : IAsyncDisposable
{
    private readonly MtaModel _model;
    private readonly string? _socket;

    /// <summary>For a subclass that reaches the milter its own way (<see cref="OpenMilterAsync"/>).</summary>
    protected SimulatedMta(MtaProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Profile = profile;
        _model = MtaModel.For(profile);
    }

    private SimulatedMta(MtaProfile profile, string socket)
        : this(profile)
    {
        _socket = socket;
    }

    /// <summary>Plays <paramref name="profile"/> against the milter listening on <paramref name="socketSpec"/>
    /// (<c>unix:/path</c>, <c>inet:PORT@HOST</c>, <c>inet6:PORT@HOST</c>).</summary>
    /// <exception cref="FormatException">The socket is not in one of those forms.</exception>
    public static SimulatedMta ForSocket(string socketSpec, MtaProfile profile)
    {
        ArgumentNullException.ThrowIfNull(socketSpec);
        ArgumentNullException.ThrowIfNull(profile);
        _ = SocketSpec.Parse(socketSpec);
        return new SimulatedMta(profile, socketSpec);
    }

    public MtaProfile Profile { get; }

    /// <summary>How long the MTA waits for each answer (progress restarts the wait at end of message).</summary>
    public TimeSpan Timeout { get; set; } = MilterClient.DefaultTimeout;

    /// <summary>The SMTP client the MTA reports to the milter (address, host name, HELO name).</summary>
    public SmtpClientInfo Client { get; set; } = new();

    /// <summary>The clock for arrival times (Date, Received).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Opens a milter connection and negotiates as the profile's MTA does; the SMTP conversation is yours.</summary>
    public async Task<MtaSession> OpenSessionAsync(SmtpClientInfo? client = null)
    {
        (MilterClient milter, Task? serving) = await OpenMilterAsync().ConfigureAwait(false);
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

    /// <summary>
    /// Connects to the milter. <c>Serving</c> is the milter's side when it runs in this process (the session waits for
    /// it to finish at QUIT, so what the milter does on close is over when the session is); null for a remote milter.
    /// </summary>
    protected virtual async ValueTask<(MilterClient Milter, Task? Serving)> OpenMilterAsync() =>
        (await MilterClient.ConnectAsync(_socket!, Timeout).ConfigureAwait(false), null);

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
        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a subclass holds (the in-process server).</summary>
    protected virtual ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
}
