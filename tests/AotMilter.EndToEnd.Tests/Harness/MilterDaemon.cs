using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// The aotmilter binary running as a child process (<c>aotmilter -p SOCKET -f FILTER</c>). Start waits until its
/// socket accepts connections; the process's stdout/stderr are kept for failure messages; dispose sends SIGTERM and,
/// if it does not exit in time, kills it.
/// </summary>
public sealed class MilterDaemon : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private MilterDaemon(Process process, MilterEndpoint endpoint, string commandLine)
    {
        _process = process;
        Endpoint = endpoint;
        CommandLine = commandLine;
    }

    public MilterEndpoint Endpoint { get; }

    public string CommandLine { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The daemon's process id (to send it signals).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the milter printed so far (stderr lines prefixed with "err: ").</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>aotmilter -p ENDPOINT -f FILTER [--socket-mode 0666] [extra...]</c>. A unix socket gets mode 0666 because
    /// Postfix's smtpd connects as user postfix.
    /// </summary>
    public static Task<MilterDaemon> StartAsync(string filter, MilterEndpoint endpoint, params string[] extraArguments) =>
        StartAsync(RepoPaths.AotMilterBinary(), filter, endpoint, null, extraArguments);

    /// <summary>
    /// Starts the test build of the daemon (tests/AotMilter.TestDaemon: the same command line, with the test filters
    /// linked in) with extra environment variables, e.g. the test filters' control file.
    /// </summary>
    public static Task<MilterDaemon> StartTestBuildAsync(
        string filter, MilterEndpoint endpoint, IReadOnlyDictionary<string, string>? environment = null, params string[] extraArguments) =>
        StartAsync(RepoPaths.TestDaemonBinary(), filter, endpoint, environment, extraArguments);

    /// <summary>Starts another executable built on AotMilter.Hosting (the same command line) with filter <paramref name="filter"/>.</summary>
    public static Task<MilterDaemon> StartBinaryAsync(string binary, string filter, MilterEndpoint endpoint, params string[] extraArguments) =>
        StartAsync(binary, filter, endpoint, null, extraArguments);

    private static async Task<MilterDaemon> StartAsync(
        string binary, string filter, MilterEndpoint endpoint, IReadOnlyDictionary<string, string>? environment, string[] extraArguments)
    {
        // The tests run as root; the daemon refuses that unless told (a test of -u covers dropping privileges).
        List<string> arguments = ["-p", endpoint.ForAotMilter, "-f", filter, "--allow-root"];
        if (endpoint is UnixMilterEndpoint)
        {
            arguments.AddRange(["--socket-mode", "0666"]);
        }

        arguments.AddRange(extraArguments);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        arguments.ForEach(start.ArgumentList.Add);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var daemon = new MilterDaemon(process, endpoint, string.Join(' ', [binary, .. arguments]));
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data, "");
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data, "err: ");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await daemon.WaitUntilListeningAsync();
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    /// <summary>
    /// SIGKILL, as a crash or the OOM killer would: no shutdown code runs, so the socket file stays behind. Returns the
    /// exit code once the process is gone and its output is drained.
    /// </summary>
    public async Task<int> KillAsync()
    {
        Native.Signal(_process.Id, Native.SIGKILL);
        await _process.WaitForExitAsync().WaitAsync(StopTimeout);
        _process.WaitForExit(); // drains the asynchronous output readers
        Append("(SIGKILL)", "harness: ");
        return _process.ExitCode;
    }

    /// <summary>Text for failure messages: the command line and everything it printed.</summary>
    public string Describe() =>
        $"--- milter `{CommandLine}`{(HasExited ? $" (exited with {_process.ExitCode})" : " (running)")} ---\n{Output.TrimEnd()}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                Native.Signal(_process.Id, Native.SIGTERM);
                using var cts = new CancellationTokenSource(StopTimeout);
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                    _process.WaitForExit(); // drains the asynchronous output readers (the last log lines)
                }
                catch (OperationCanceledException)
                {
                    Append($"(did not exit within {StopTimeout.TotalSeconds:0}s of SIGTERM; killed)", "harness: ");
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(prefix).AppendLine(line);
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        string lastError = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException(
                    $"the milter exited with {_process.ExitCode} before listening on {Endpoint}.\n{Describe()}");
            }

            try
            {
                await ProbeAsync();
                CheckSocketMode();
                return;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                lastError = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(
            $"the milter did not accept connections on {Endpoint} within {StartTimeout.TotalSeconds:0}s "
            + $"(last error: {lastError}).\n{Describe()}");
    }

    /// <summary>Connects once (and closes at once, which a milter must tolerate) to see that the socket is live.</summary>
    private async Task ProbeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        switch (Endpoint)
        {
            case UnixMilterEndpoint unix:
                if (!File.Exists(unix.Path))
                {
                    throw new IOException($"{unix.Path} does not exist yet");
                }

                using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(unix.Path), cts.Token);
                }

                break;
            case InetMilterEndpoint inet:
                using (var client = new TcpClient())
                {
                    await client.ConnectAsync(System.Net.IPAddress.Loopback, inet.Port, cts.Token);
                }

                break;
        }
    }

    private void CheckSocketMode()
    {
        if (Endpoint is not UnixMilterEndpoint unix)
        {
            return;
        }

        var mode = File.GetUnixFileMode(unix.Path);
        const UnixFileMode others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        if ((mode & others) != others)
        {
            throw new InvalidOperationException(
                $"{unix.Path} has mode {Convert.ToString((int)mode, 8)} despite --socket-mode 0666: Postfix (user postfix) "
                + $"could not connect.\n{Describe()}");
        }
    }
}
