using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>
/// A scanner daemon (clamd, spamd, rspamd) this test run started itself, in a private directory, listening only on
/// that directory's unix socket or on loopback; stopped (its process, by id) and removed at dispose. The daemons are
/// Debian's packages, which <c>./build.sh test</c> installs; a test skips with the reason when one is missing.
/// </summary>
internal abstract class ScannerDaemon : IAsyncDisposable
{
    private Process? _process;

    protected ScannerDaemon(string name)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"aotm-{name}-{Guid.NewGuid():N}"[..32]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The daemon's private directory (configuration, socket, log).</summary>
    public string Directory { get; }

    public int ProcessId => _process?.Id ?? 0;

    /// <summary>What the daemon printed and logged, for a failed test's message.</summary>
    public string Output => string.Join("\n", System.IO.Directory.GetFiles(Directory, "*.log", SearchOption.AllDirectories).Select(File.ReadAllText));

    /// <summary>Stops the daemon (SIGSTOP): it keeps its sockets and answers nothing, as a scanner stuck on a huge message.</summary>
    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            try
            {
                Signal("CONT");
            }
            finally
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }

        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// True when the daemon answers <paramref name="request"/> on its unix socket with a reply that contains
    /// <paramref name="pong"/> within <paramref name="timeout"/>: the readiness probe of clamd and spamd.
    /// </summary>
    protected static async Task<bool> AnswersOnSocketAsync(string socketPath, byte[] request, string pong, TimeSpan timeout)
    {
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var deadline = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
        await socket.SendAsync(request, deadline.Token);
        byte[] reply = new byte[64];
        int n = await socket.ReceiveAsync(reply, deadline.Token);
        return Encoding.ASCII.GetString(reply, 0, n).Contains(pong, StringComparison.Ordinal);
    }

    /// <summary>Starts <paramref name="program"/> and waits (at most <paramref name="timeout"/>) until <paramref name="ready"/> says it serves.</summary>
    protected async Task StartAsync(string program, string[] arguments, Func<Task<bool>> ready, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        string output = Path.Combine(Directory, "stdout.log");
        _process.OutputDataReceived += (_, e) => Append(output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{program} exited during start ({_process.ExitCode}):\n{Output}");
            }

            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or HttpRequestException or OperationCanceledException)
            {
                // Not listening yet, or not answering yet.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{program} did not become ready in {timeout.TotalSeconds} s:\n{Output}");
    }

    private static readonly Lock AppendGate = new();

    private static void Append(string file, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (AppendGate)
        {
            File.AppendAllText(file, line + "\n");
        }
    }

    /// <summary>Signals the daemon and its children (spamd and rspamd serve from forked children).</summary>
    private void Signal(string signal)
    {
        if (_process is not { HasExited: false })
        {
            return;
        }

        var ids = new List<string> { _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (string stat in System.IO.Directory.GetDirectories("/proc").Where(d => char.IsAsciiDigit(d[^1])).Select(d => Path.Combine(d, "stat")))
        {
            try
            {
                // pid (comm) state ppid ...: the fields after the last ')' start with the state.
                string text = File.ReadAllText(stat);
                string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[1] == ids[0])
                {
                    ids.Add(text[..text.IndexOf(' ', StringComparison.Ordinal)]);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // That process ended meanwhile, or is not ours to read.
            }
        }

        using Process kill = Process.Start("kill", ["-" + signal, .. ids])!;
        kill.WaitForExit(5000);
    }
}
