using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Protocol;
using AotMilter.Server;
using Microsoft.Extensions.Logging;

namespace AotMilter.Cli;

/// <summary>Runs the server in the foreground or as a detached daemon, until SIGTERM or SIGINT.</summary>
public static class Daemon
{
    // PosixSignal names only the portable signals; raw Linux numbers are allowed.
    private const PosixSignal SIGUSR1 = (PosixSignal)10;

    public static int Run(DaemonSettings settings, string[] args)
    {
        if (settings.Detach && !Detacher.IsDetachedChild)
        {
            // The parent: start the real daemon in a new session and report whether it came up.
            return Detacher.SpawnAndWait(args);
        }

        using ReadyChannel ready = ReadyChannel.FromEnvironment();
        using ILoggerFactory loggerFactory = Logging.Create(settings.LogLevel, settings.LogFile);
        ILogger log = loggerFactory.CreateLogger("aotmilter");

        var chain = new FilterChain(settings.Filters);
        var server = new MilterServer(chain, settings.Server, loggerFactory);
        try
        {
            EnsureSocketDirectory(settings.Server.Socket);
            server.Start();
            if (settings.PidFile is not null)
            {
                File.WriteAllText(settings.PidFile, $"{Environment.ProcessId}\n");
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            string reason = $"cannot listen on {settings.Server.Socket}: {ex.Message}";
            CliLog.StartFailed(log, reason);
            ready.Fail(reason);
            if (!ready.IsConnected && settings.LogFile is not null)
            {
                // In the foreground the log is on standard error already, unless it goes to a file.
                Console.Error.WriteLine($"aotmilter: {reason}");
            }

            return 1;
        }

        using var stopping = new CancellationTokenSource();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, stopping, log));
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, stopping, log));
        using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            // Settings come from the command line only, so there is nothing to re-read; never die on SIGHUP.
            c.Cancel = true;
            CliLog.HangupIgnored(log, "no configuration file to re-read");
        });
        using PosixSignalRegistration statistics = PosixSignalRegistration.Create(SIGUSR1, c =>
        {
            c.Cancel = true;
            LogStatistics(log, "SIGUSR1");
        });

        ready.Succeed();
        try
        {
            server.RunAsync(stopping.Token).GetAwaiter().GetResult();
        }
        finally
        {
            LogStatistics(log, "shutdown");
            if (settings.PidFile is not null)
            {
                TryDelete(settings.PidFile);
            }
        }

        return 0;
    }

    /// <summary>One line with the daemon's counters, including managed bytes allocated per message since listening.</summary>
    private static void LogStatistics(ILogger log, string when)
    {
        ServerSnapshot s = ServerStatistics.Snapshot();
        CliLog.Statistics(log, when, s.ConnectionsAccepted, s.ConnectionsOpen, s.Messages, s.AllocatedBytes,
            s.AllocatedBytesPerMessage, s.Listening.TotalSeconds);
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stopping, ILogger log)
    {
        context.Cancel = true;
        CliLog.StopRequested(log, context.Signal.ToString());
        stopping.Cancel();
    }

    private static void EnsureSocketDirectory(SocketSpec socket)
    {
        if (socket.Kind != SocketKind.Unix)
        {
            return;
        }

        // /run/aotmilter does not survive a reboot; create it like systemd's RuntimeDirectory would.
        string? dir = Path.GetDirectoryName(socket.Path);
        if (dir is not null && !Directory.Exists(dir) && dir.StartsWith("/run/", StringComparison.Ordinal))
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
