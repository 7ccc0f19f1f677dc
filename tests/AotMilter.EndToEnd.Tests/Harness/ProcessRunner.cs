using System.Diagnostics;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Output of a finished command.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() =>
        $"`{Command}` exited with {ExitCode}\n--- stdout ---\n{StdOut.TrimEnd()}\n--- stderr ---\n{StdErr.TrimEnd()}";

    /// <summary>Throws with the command's output unless it exited with 0.</summary>
    public ProcessResult EnsureSuccess(string what) =>
        Succeeded ? this : throw new InvalidOperationException($"{what} failed: {this}");
}

/// <summary>Runs short-lived commands (postfix, postqueue, m4, apt-get, ...) with a timeout.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        IEnumerable<string>? unsetEnvironment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in unsetEnvironment ?? [])
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var command = string.Join(' ', [fileName, .. start.ArgumentList]);
        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        try
        {
            process.Start();
        }
        catch (Exception e)
        {
            return new ProcessResult(command, -1, "", $"could not start: {e.Message}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command did not read its input; its exit code tells the rest.
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` did not finish within {timeout.TotalSeconds:0}s; output so far:\n{stdout}{stderr}");
        }

        process.WaitForExit(); // drains the asynchronous output readers
        lock (stdout)
        {
            lock (stderr)
            {
                return new ProcessResult(command, process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }
}
