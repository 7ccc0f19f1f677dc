using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// Measures how long a milter takes from being spawned to accepting connections on its socket: start the command,
/// try to connect every 200 µs, stop it with SIGTERM; several runs, report the median.
/// </summary>
internal static partial class StartupProbe
{
    private const int SigTerm = 15;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public static int Run(SocketSpec socket, IReadOnlyList<string> command, int runs, string label, TextWriter output)
    {
        var times = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            if (socket.Kind == SocketKind.Unix && File.Exists(socket.Path))
            {
                File.Delete(socket.Path!);
            }

            var start = new ProcessStartInfo(command[0])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string argument in command.Skip(1))
            {
                start.ArgumentList.Add(argument);
            }

            long begin = Stopwatch.GetTimestamp();
            using Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {command[0]}");
            process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            Task<string> errors = process.StandardError.ReadToEndAsync();
            bool listening = false;
            while (Stopwatch.GetElapsedTime(begin) < Limit && !process.HasExited)
            {
                if (TryConnect(socket))
                {
                    listening = true;
                    break;
                }

                Thread.Sleep(TimeSpan.FromMicroseconds(200));
            }

            TimeSpan elapsed = Stopwatch.GetElapsedTime(begin);
            Stop(process);
            if (!listening)
            {
                Console.Error.WriteLine($"{ProgramName.Value} bench: {string.Join(' ', command)} did not accept connections on {socket} within {Limit.TotalSeconds:0} s"
                    + $"{(process.HasExited ? $" (exited with {process.ExitCode})" : "")}: {errors.Result.Trim()}");
                return 1;
            }

            times.Add(elapsed.TotalMilliseconds);
        }

        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[(times.Count / 2) - 1] + times[times.Count / 2]) / 2;
        CultureInfo c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c,
            $"{ProgramName.Value} bench: {string.Join(' ', command)}: from spawn to an accepting socket in {median:0.0} ms (median of {times.Count}; min {times[0]:0.0}, max {times[^1]:0.0})"));
        output.WriteLine(string.Create(c,
            $"RESULT{(label.Length > 0 ? $" label={label}" : "")} socket={socket} startup_runs={times.Count} startup_median_ms={median:0.00} startup_min_ms={times[0]:0.00} startup_max_ms={times[^1]:0.00}"));
        return 0;
    }

    private static bool TryConnect(SocketSpec spec)
    {
        using var socket = spec.Kind == SocketKind.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(spec.ToConnectEndPoint().AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(spec.ToConnectEndPoint());
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            // SIGTERM: a milter removes its socket when it stops.
            _ = Kill(process.Id, SigTerm);
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
