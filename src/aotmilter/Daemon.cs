using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Configuration;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace AotMilter.Cli;

/// <summary>Runs the server in the foreground or as a detached daemon, until SIGTERM or SIGINT.</summary>
public static class Daemon
{
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

        // The settings come first: a daemon that cannot read its configuration must not start with other settings.
        SettingsLoadResult loaded = settings.ConfigPath is null
            ? FilterSettingsLoader.Defaults(settings.Filters)
            : FilterSettingsLoader.Load(ConfigFile.Load(settings.ConfigPath), settings.KnownFilters, settings.Filters);
        if (!loaded.IsValid)
        {
            foreach (ConfigError error in loaded.Errors)
            {
                CliLog.ConfigError(log, error.ToString());
            }

            string reason = settings.ConfigPath is null
                ? "a filter needs settings: give a configuration file with -c"
                : $"{settings.ConfigPath} has {loaded.Errors.Count} error(s); not starting";
            CliLog.StartFailed(log, reason);
            ready.Fail(string.Join("; ", loaded.Errors.Select(e => e.ToString()).Append(reason)));
            if (!ready.IsConnected && settings.LogFile is not null)
            {
                foreach (ConfigError error in loaded.Errors)
                {
                    Console.Error.WriteLine(error.ToString());
                }

                Console.Error.WriteLine($"aotmilter: {reason}");
            }

            return 1;
        }

        var chain = new FilterChain(settings.Filters, loaded.Settings);
        var reloader = new ConfigReloader(settings, chain, log);
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
            // Never die on SIGHUP: re-read the configuration (or say there is none).
            c.Cancel = true;
            reloader.Reload();
        });

        ready.Succeed();
        try
        {
            server.RunAsync(stopping.Token).GetAwaiter().GetResult();
        }
        finally
        {
            if (settings.PidFile is not null)
            {
                TryDelete(settings.PidFile);
            }
        }

        return 0;
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
