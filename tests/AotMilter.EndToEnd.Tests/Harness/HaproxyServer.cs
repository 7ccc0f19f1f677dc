namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A real HAProxy in TCP mode on 127.0.0.1, spreading connections over milter daemons round robin, as
/// ../shared/services/haproxy-harness.sh runs it: a private configuration, foreground (<c>-db</c>), numeric backends
/// only (no DNS). A connection that cannot reach its backend (a daemon just killed) is tried on the next one
/// (<c>retries</c> with <c>option redispatch 1</c>), as a production configuration would. haproxy comes from Debian's
/// package, which <c>./build.sh test</c> installs; without it the test fails saying so.
/// </summary>
public sealed class HaproxyServer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/haproxy";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _directory = new("haproxy");
    private DaemonProcess? _process;

    private HaproxyServer(int port) => Port = port;

    public int Port { get; }

    public MilterEndpoint Endpoint => MilterEndpoint.Inet(Port);

    public static async Task<HaproxyServer> StartAsync(IEnumerable<int> backendPorts)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is needed (Debian: apt-get install haproxy; ./build.sh test installs it)");
        }

        var haproxy = new HaproxyServer(Ports.GetFree());
        string config = haproxy._directory.Combine("haproxy.cfg");
        File.WriteAllText(config, string.Join('\n', [
            "global",
            "    maxconn 4096",
            "defaults",
            "    mode tcp",
            "    log stdout format raw local0 info",
            "    option tcplog",
            "    timeout connect 1s",
            "    timeout client 300s",
            "    timeout server 300s",
            "    retries 3",
            "    option redispatch 1",
            "frontend milters",
            $"    bind 127.0.0.1:{haproxy.Port}",
            "    default_backend daemons",
            "backend daemons",
            "    balance roundrobin",
            .. backendPorts.Select((p, i) => $"    server d{i + 1} 127.0.0.1:{p}"),
            "",
        ]));
        haproxy._process = DaemonProcess.StartProgram(Binary, "-f", config, "-db");
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!await Ports.IsOpenAsync(haproxy.Port))
        {
            if (haproxy._process.HasExited || DateTime.UtcNow > deadline)
            {
                string why = haproxy.Describe();
                await haproxy.DisposeAsync();
                throw new InvalidOperationException($"haproxy did not listen on 127.0.0.1:{haproxy.Port}:\n{why}");
            }

            await Task.Delay(20);
        }

        return haproxy;
    }

    /// <summary>HAProxy's log (one line per connection: which backend, how long, how it ended).</summary>
    public string Describe() => _process?.Describe() ?? "--- haproxy not started ---";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_process is not null)
            {
                await _process.StopAsync();
                await _process.DisposeAsync();
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
