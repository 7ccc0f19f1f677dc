using System.Diagnostics;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A child process that speaks a line protocol on stdin/stdout (e.g. <c>sendmail -bs</c>). Its stderr lines go to a
/// callback. Dispose closes stdin, waits for the process to exit and kills it if it does not.
/// </summary>
public sealed class ProcessConnection : IAsyncDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);
    private readonly Process _process;
    private readonly Action<string> _log;

    private ProcessConnection(Process process, Action<string> log)
    {
        _process = process;
        _log = log;
    }

    public Stream Input => _process.StandardOutput.BaseStream;

    public Stream Output => _process.StandardInput.BaseStream;

    public static ProcessConnection Start(string fileName, IEnumerable<string> arguments, Action<string> log)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log($"stderr: {e.Data}");
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        return new ProcessConnection(process, log);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        using var cts = new CancellationTokenSource(ExitTimeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _log($"(pid {_process.Id} did not exit within {ExitTimeout.TotalSeconds:0}s after stdin closed; killed)");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        if (_process.ExitCode != 0)
        {
            _log($"(pid {_process.Id} exited with {_process.ExitCode})");
        }

        _process.Dispose();
    }
}
