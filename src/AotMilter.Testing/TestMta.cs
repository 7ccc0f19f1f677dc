using System.Net.Sockets;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Server;

namespace AotMilter.Testing;

/// <summary>
/// The filter authors' MTA: a <see cref="SimulatedMta"/> (Postfix or Sendmail, see <see cref="MtaProfile"/>) played
/// against a filter chain that the real server (<see cref="MilterServer"/>) runs in this process, through its generated
/// dispatchers, over a socket pair: the real wire protocol, no shortcut.
/// <code>
/// await using var mta = new TestMta(MtaProfile.Postfix, MilterCatalog.Registrations);
/// MessageResult result = await mta.SendAsync(Email.Load("spam.eml"), "a@example.org", "b@example.net");
/// Assert.Equal(MessageOutcome.Rejected, result.Outcome);
/// </code>
/// Each <see cref="SimulatedMta.SendAsync(Email, Envelope)"/> is one SMTP connection (new filter instances); use
/// <see cref="SimulatedMta.OpenSessionAsync"/> to drive a connection step by step or to send several messages on it.
/// The same MTA against any milter on a socket is <see cref="SimulatedMta.ForSocket"/>.
/// </summary>
public sealed class TestMta : SimulatedMta
{
    private readonly MilterServer _server;
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
        : base(profile)
    {
        ArgumentNullException.ThrowIfNull(filters);
        options ??= new MilterServerOptions { Socket = SocketSpec.Parse("unix:/dev/null") };
        _server = new MilterServer(new FilterChain(filters), options, _log);
    }

    /// <summary>What the in-process server and the filters logged (context.Logger included), one line each.</summary>
    public IReadOnlyList<string> Log => _log.Lines;

    protected override ValueTask<(MilterClient Milter, Task? Serving)> OpenMilterAsync()
    {
        (Socket mtaSide, Socket milterSide) = SocketPair.Create();
        Task serving = _server.ServeAsync(milterSide);
        return new((new MilterClient(mtaSide, Timeout), serving));
    }

    protected override ValueTask DisposeAsyncCore() => _server.DisposeAsync();
}
