using System.Diagnostics;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// The published binary started with exactly the arguments given (nothing added, unlike <see cref="MilterDaemon"/>),
/// for tests of how it starts, refuses to start and stops. Its standard output and error are kept; dispose kills it
/// if it still runs.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private DaemonProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything it printed so far, standard error and output interleaved.</summary>
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

    public static DaemonProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Launch(RepoPaths.AotMilterBinary(), environment, arguments);

    /// <summary>Another program run the same way (a service the daemon talks to, such as HAProxy).</summary>
    public static DaemonProcess StartProgram(string binary, params string[] arguments) => Launch(binary, null, arguments);

    private static DaemonProcess Launch(string binary, IReadOnlyDictionary<string, string>? environment, string[] arguments)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var daemon = new DaemonProcess(new Process { StartInfo = start });
        daemon._process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        daemon._process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        daemon._process.Start();
        daemon._process.BeginOutputReadLine();
        daemon._process.BeginErrorReadLine();
        return daemon;
    }

    public static DaemonProcess Start(params string[] arguments) => Start(null, arguments);

    /// <summary>True when it exited within <paramref name="limit"/> (its output is then complete).</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until its output contains <paramref name="text"/>; fails if it exits or takes longer than 15 s.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline;)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            if (_process.HasExited)
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
                break;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"no \"{text}\" in the daemon's output.\n{Describe()}");
    }

    /// <summary>SIGTERM, then waits up to 15 s for it to exit; false if it did not.</summary>
    public async Task<bool> StopAsync()
    {
        Native.Signal(_process.Id, Native.SIGTERM);
        return await WaitForExitAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>For failure messages.</summary>
    public string Describe() =>
        $"--- {Path.GetFileName(_process.StartInfo.FileName)} {string.Join(' ', _process.StartInfo.ArgumentList)}{(_process.HasExited ? $" (exited with {_process.ExitCode})" : " (running)")} ---\n{Output.TrimEnd()}";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
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
