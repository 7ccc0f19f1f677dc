using System.Diagnostics;
using System.Text;

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
    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly StringBuilder _output = new();

    private HaproxyServer(Process process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public MilterEndpoint Endpoint => MilterEndpoint.Inet(Port);

    public static async Task<HaproxyServer> StartAsync(IEnumerable<int> backendPorts)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is needed (Debian: apt-get install haproxy; ./build.sh test installs it)");
        }

        var directory = new TempDirectory("haproxy");
        int port = Ports.GetFree();
        string config = directory.Combine("haproxy.cfg");
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
            $"    bind 127.0.0.1:{port}",
            "    default_backend daemons",
            "backend daemons",
            "    balance roundrobin",
            .. backendPorts.Select((p, i) => $"    server d{i + 1} 127.0.0.1:{p}"),
            "",
        ]));
        var start = new ProcessStartInfo(Binary, ["-f", config, "-db"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = new Process { StartInfo = start };
        var haproxy = new HaproxyServer(process, directory, port);
        process.OutputDataReceived += (_, e) => haproxy.Append(e.Data);
        process.ErrorDataReceived += (_, e) => haproxy.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!await Ports.IsOpenAsync(port))
        {
            if (process.HasExited || clock.Elapsed > StartTimeout)
            {
                string why = haproxy.Describe();
                await haproxy.DisposeAsync();
                throw new InvalidOperationException($"haproxy did not listen on 127.0.0.1:{port}:\n{why}");
            }

            await Task.Delay(20);
        }

        return haproxy;
    }

    /// <summary>HAProxy's log (one line per connection: which backend, how long, how it ended).</summary>
    public string Describe()
    {
        lock (_output)
        {
            return $"--- haproxy on 127.0.0.1:{Port} ---\n{_output.ToString().TrimEnd()}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                Native.Signal(_process.Id, Native.SIGTERM);
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill();
                }

                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            _directory.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
