using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server.Tests;

/// <summary>
/// A <see cref="MilterServer"/> running in-process on a unix socket in a fresh temporary directory, stopped through a
/// cancellation token when disposed.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stop = new();
    private readonly string _directory;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Task _run;

    private TestServer(MilterServerOptions options, FilterChain chain, string directory)
    {
        _directory = directory;
        Options = options;
        Logs = new LogCollector();
        _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        Server = new MilterServer(chain, options, _loggerFactory);
        Server.Start();
        _run = Server.RunAsync(_stop.Token);
    }

    public MilterServer Server { get; }

    public MilterServerOptions Options { get; }

    public LogCollector Logs { get; }

    public string SocketSpec => Options.Socket.ToString();

    public static TestServer Start(params MilterRegistration[] filters) => Start(o => o, filters);

    public static TestServer Start(Func<MilterServerOptions, MilterServerOptions> configure, params MilterRegistration[] filters)
    {
        string directory = Path.Combine(Path.GetTempPath(), "aotm-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var options = configure(new MilterServerOptions
        {
            Socket = Protocol.SocketSpec.Parse("unix:" + Path.Combine(directory, "milter.sock")),
            SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ShutdownGrace = TimeSpan.FromSeconds(2),
        });
        return new TestServer(options, new FilterChain(filters), directory);
    }

    /// <summary>A new MTA connection, not yet negotiated.</summary>
    public Task<MilterClient> ConnectAsync() => MilterClient.ConnectAsync(SocketSpec, MilterClient.DefaultTimeout);

    /// <summary>A new MTA connection, negotiated with a Sendmail 8.14+/Postfix default offer.</summary>
    public async Task<MilterClient> ConnectAndNegotiateAsync(
        uint version = 6, ActionFlags actions = ActionFlags.AllVersion6, ProtocolFlags protocol = ProtocolFlags.AllVersion6)
    {
        MilterClient client = await ConnectAsync();
        try
        {
            await client.NegotiateAsync(version, actions, protocol);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the server has no open connection (all sessions ended, close callbacks run).</summary>
    public async Task WaitForNoConnectionsAsync()
    {
        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (Server.ConnectionsOpen > 0)
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(StopTimeout);
        }
        finally
        {
            await Server.DisposeAsync();
            _loggerFactory.Dispose();
            _stop.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless.
            }
        }
    }
}
