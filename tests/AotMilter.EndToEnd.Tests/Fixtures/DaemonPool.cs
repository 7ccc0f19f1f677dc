using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Filters.Tests.Infrastructure;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>
/// Several daemons that share state, as a site that outgrows one milter host runs them: one real Redis, N aotmilter
/// processes on TCP with the same configuration file (whose <c>{redis}</c> is replaced with the server's URL), and a
/// real HAProxy that spreads milter connections over them round robin.
/// </summary>
public sealed class DaemonPool : IAsyncDisposable
{
    private readonly List<MilterDaemon> _killed = [];
    private readonly TempDirectory _directory = new("pool");

    private DaemonPool(RedisServer redis)
    {
        Redis = redis;
    }

    public RedisServer Redis { get; }

    /// <summary>The daemons, in HAProxy's order (null where one was killed).</summary>
    public List<MilterDaemon?> Daemons { get; } = [];

    /// <summary>Each daemon's <c>--metrics</c> port, in the same order.</summary>
    public List<int> MetricsPorts { get; } = [];

    public HaproxyServer Haproxy { get; private set; } = null!;

    /// <summary>Starts Redis, <paramref name="count"/> daemons running <paramref name="filters"/>, then HAProxy in front.</summary>
    public static async Task<DaemonPool> StartAsync(int count, string[] filters, string configuration)
    {
        var pool = new DaemonPool(await RedisServer.StartAsync());
        try
        {
            string config = pool._directory.Combine("aotmilter.conf");
            File.WriteAllText(config, configuration.Replace("{redis}", pool.Redis.Url(), StringComparison.Ordinal));
            List<string> arguments = [.. filters.Skip(1).SelectMany(f => new[] { "-f", f }), "-c", config];
            var ports = new List<int>();
            for (int i = 0; i < count; i++)
            {
                int port = Ports.GetFree();
                int metrics = Ports.GetFree();
                ports.Add(port);
                pool.MetricsPorts.Add(metrics);
                pool.Daemons.Add(await MilterDaemon.StartAsync(filters[0], MilterEndpoint.Inet(port), [.. arguments, "--metrics", $"inet:{metrics}@127.0.0.1"]));
            }

            pool.Haproxy = await HaproxyServer.StartAsync(ports);
            return pool;
        }
        catch
        {
            await pool.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILLs daemon <paramref name="index"/>; returns its exit code.</summary>
    public Task<int> KillAsync(int index)
    {
        MilterDaemon daemon = Daemons[index] ?? throw new InvalidOperationException($"daemon {index} is not running");
        Daemons[index] = null;
        _killed.Add(daemon);
        return daemon.KillAsync();
    }

    /// <summary>Every daemon's output (the killed ones too) and HAProxy's log, for failure messages.</summary>
    public string Describe() =>
        string.Join('\n', [.. Daemons.Where(d => d is not null).Select(d => d!.Describe()), .. _killed.Select(d => d.Describe()), Haproxy?.Describe() ?? "--- haproxy not started ---"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Haproxy is not null)
            {
                await Haproxy.DisposeAsync();
            }

            foreach (MilterDaemon daemon in Daemons.Where(d => d is not null).Concat(_killed)!)
            {
                await daemon.DisposeAsync();
            }
        }
        finally
        {
            await Redis.DisposeAsync();
            _directory.Dispose();
        }
    }
}
