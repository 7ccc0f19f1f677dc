using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xunit;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>
/// A real redis-server for one test class: its own configuration, unix socket and port on 127.0.0.1 in a temporary
/// directory, no persistence, as ../shared/services/redis-harness.sh runs it. It can be stopped and started again on
/// the same port (Redis down and back), paused with SIGSTOP (Redis hung) and asked things with redis-cli.
/// redis-server comes from Debian's package, which <c>./build.sh test</c> installs; without it the test fails saying so.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string ServerBinary = "/usr/bin/redis-server";
    public const string CliBinary = "/usr/bin/redis-cli";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private readonly string _directory;
    private readonly string[] _settings;
    private Process? _process;

    private RedisServer(string directory, int port, string[] settings)
    {
        _directory = directory;
        Port = port;
        _settings = settings;
    }

    public int Port { get; }

    public string SocketPath => Path.Combine(_directory, "redis.sock");

    /// <summary>The store setting for database <paramref name="database"/> over TCP.</summary>
    public string Url(int database = 0, string? password = null) =>
        $"redis://{(password is null ? "" : $":{password}@")}127.0.0.1:{Port}/{database}";

    /// <summary>Starts a server; <paramref name="settings"/> are extra redis.conf lines (<c>requirepass x</c>).</summary>
    public static async Task<RedisServer> StartAsync(params string[] settings)
    {
        if (!File.Exists(ServerBinary) || !File.Exists(CliBinary))
        {
            Assert.Fail($"{ServerBinary} and {CliBinary} are needed (Debian: apt-get install redis-server redis-tools; ./build.sh test installs them)");
        }

        string directory = Directory.CreateTempSubdirectory("aotmilter-redis-").FullName;
        var server = new RedisServer(directory, FreePort(), settings);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) with the same port, socket and settings; empty, as after a crash without persistence.</summary>
    public async Task StartAgainAsync()
    {
        string config = Path.Combine(_directory, "redis.conf");
        File.WriteAllLines(config, [
            "bind 127.0.0.1", $"port {Port}", "protected-mode yes", $"unixsocket {SocketPath}", "unixsocketperm 700",
            "daemonize no", $"dir {_directory}", $"logfile {Path.Combine(_directory, "redis.log")}", "save \"\"", "appendonly no",
            .. _settings,
        ]);
        _process = Process.Start(new ProcessStartInfo(ServerBinary, [config]) { UseShellExecute = false })!;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"redis-server exited with {_process.ExitCode}: {Log()}");
            }

            if (await AcceptsAsync())
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"redis-server did not listen on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds} s: {Log()}");
    }

    /// <summary>SIGTERM and wait: Redis closes its connections and stops listening.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } running)
        {
            running.Kill(entireProcessTree: false);
            await running.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>SIGSTOP: connections stay open and nothing is answered, as a hung server or a dropped network path.</summary>
    public void Pause() => Signal(19);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal(18);

    /// <summary>Runs redis-cli against this server and returns what it printed.</summary>
    public async Task<string> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(CliBinary, ["-h", "127.0.0.1", "-p", Port.ToString(), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process cli = Process.Start(start)!;
        Task<string> output = cli.StandardOutput.ReadToEndAsync();
        Task<string> errors = cli.StandardError.ReadToEndAsync();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return (await output).Trim() + (await errors).Trim();
    }

    /// <summary>How many times Redis ran a command, from INFO commandstats (<c>evalsha</c>, <c>script|load</c>).</summary>
    public async Task<long> CommandCallsAsync(string command)
    {
        string info = await CliAsync("INFO", "commandstats");
        string prefix = $"cmdstat_{command}:calls=";
        string? line = info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[prefix.Length..line.IndexOf(',', StringComparison.Ordinal)]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            Resume();
            await StopAsync();
            _process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private string Log()
    {
        string path = Path.Combine(_directory, "redis.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    private void Signal(int signal)
    {
        if (_process is { HasExited: false } running)
        {
            _ = Kill(running.Id, signal);
        }
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            // A server with requirepass answers NOAUTH: it listens all the same.
            string answer = await CliAsync("PING");
            return answer == "PONG" || answer.StartsWith("NOAUTH", StringComparison.Ordinal);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
