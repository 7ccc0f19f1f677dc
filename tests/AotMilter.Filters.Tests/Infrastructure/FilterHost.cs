using AotMilter.Configuration;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Server.Configuration;
using AotMilter.Server;
using AotMilter.Testing;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>
/// A real <see cref="MilterServer"/> on a unix socket in a temporary directory, running bundled filters (through
/// their generated registrations) with settings read from configuration text, as the daemon does.
/// </summary>
internal sealed class FilterHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly string _directory;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Task _run;

    private FilterHost(FilterChain chain, string directory, long? maxMemory = null)
    {
        _directory = directory;
        Chain = chain;
        _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        var options = new MilterServerOptions
        {
            Socket = SocketSpec.Parse("unix:" + Path.Combine(directory, "milter.sock")),
            SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ShutdownGrace = TimeSpan.FromSeconds(2),
        };
        if (maxMemory is long limit)
        {
            options = options with { MaxMemory = limit };
        }

        SocketPath = options.Socket.ToString();
        Server = new MilterServer(chain, options, _loggerFactory);
        Server.Start();
        _run = Server.RunAsync(_stop.Token);
    }

    public MilterServer Server { get; }

    public FilterChain Chain { get; }

    public LogCollector Logs { get; } = new();

    public string SocketPath { get; }

    public static IReadOnlyList<MilterRegistration> All => Generated.AotMilter_Filters.MilterCatalog.Registrations;

    public static MilterRegistration Filter(string name) => All.Single(f => f.Name == name);

    /// <summary>Starts the named filters (in order) with settings from <paramref name="config"/>; invalid settings fail the test.</summary>
    public static FilterHost Start(string config, params string[] filters)
    {
        MilterRegistration[] chain = filters.Select(Filter).ToArray();
        SettingsLoadResult loaded = Load(config, chain);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        string directory = Path.Combine(Path.GetTempPath(), "aotmf-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return new FilterHost(new FilterChain(chain, loaded.Settings), directory);
    }

    /// <summary>As <see cref="Start(string, string[])"/>, with the daemon's memory budget (--max-memory) set to <paramref name="maxMemory"/> bytes.</summary>
    public static FilterHost StartWithBudget(string config, long maxMemory, params string[] filters)
    {
        MilterRegistration[] chain = filters.Select(Filter).ToArray();
        SettingsLoadResult loaded = Load(config, chain);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        string directory = Path.Combine(Path.GetTempPath(), "aotmf-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return new FilterHost(new FilterChain(chain, loaded.Settings), directory, maxMemory);
    }

    public static SettingsLoadResult Load(string config, IReadOnlyList<MilterRegistration> chain)
        => FilterSettingsLoader.Load(ConfigFile.Parse(config, "test.conf"), All, chain);

    /// <summary>A negotiated MTA connection that has sent connect (and HELO, unless null).</summary>
    public async Task<MilterClient> ConnectAsync(string clientAddress = "198.51.100.7", string hostName = "client.example.net", string? helo = "client.example.net")
    {
        MilterClient client = await MilterClient.ConnectAsync(SocketPath, MilterClient.DefaultTimeout);
        await client.NegotiateAsync();
        bool v6 = clientAddress.Contains(':', StringComparison.Ordinal);
        MilterReply connect = MilterReply.Continue;
        if ((client.Negotiated!.DeclinedEvents & ProtocolFlags.NoConnect) == 0)
        {
            connect = await client.ConnectAsync(hostName, v6 ? ConnectFamily.IPv6 : ConnectFamily.IPv4, 25, clientAddress);
        }

        if (helo is not null && connect.Kind is MilterReplyKind.Continue or MilterReplyKind.NoReply && (client.Negotiated!.DeclinedEvents & ProtocolFlags.NoHelo) == 0)
        {
            await client.HeloAsync(helo);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(15));
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
            }
        }
    }
}

/// <summary>Keeps every log line, for assertions on what a filter logged.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner._lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}
