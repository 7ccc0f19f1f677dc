using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Configuration;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace AotMilter.Hosting;

/// <summary>Runs the server in the foreground or as a detached daemon, until SIGTERM or SIGINT.</summary>
internal static class Daemon
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
        ILoggerFactory created;
        try
        {
            created = Logging.Create(settings.LogLevel, settings.LogFile);
        }
        catch (IOException ex)
        {
            // No log to write to: the reason goes to the -D parent, or to standard error in the foreground.
            ready.Fail(ex.Message);
            if (!ready.IsConnected)
            {
                Console.Error.WriteLine($"{ProgramName.Value}: {ex.Message}");
            }

            return 1;
        }

        using ILoggerFactory loggerFactory = created;
        ILogger log = loggerFactory.CreateLogger("aotmilter");

        if (!CheckIdentity(settings, out uint uid, out uint gid, out bool drop, out string? identityError))
        {
            CliLog.StartFailed(log, identityError);
            ready.Fail(identityError);
            if (!ready.IsConnected && settings.LogFile is not null)
            {
                Console.Error.WriteLine($"{ProgramName.Value}: {identityError}");
            }

            return 2;
        }

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

                Console.Error.WriteLine($"{ProgramName.Value}: {reason}");
            }

            return 1;
        }

        using Systemd systemd = Systemd.FromEnvironment();
        var chain = new FilterChain(settings.Filters, loaded.Settings);
        var reloader = new ConfigReloader(settings, chain, log);
        // With -u the socket file is the user's, so that it can remove it at exit even from a sticky directory.
        MilterServerOptions serverOptions = (drop ? settings.Server with { SocketOwner = uid } : settings.Server)
            with { EventLoops = new EventLoopGroup(settings.IoThreads, settings.BusyPoll, static () => Logging.LinesWaiting) };
        var server = new MilterServer(chain, serverOptions, loggerFactory);
        MilterMetrics metrics = server.Metrics;

        // The handlers go in before anything starts: a SIGHUP that arrives while the daemon starts (an admin's reload,
        // logrotate) must re-read the configuration, not end the process by the signal's default action.
        using var stopping = new CancellationTokenSource();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, stopping, log, systemd));
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, stopping, log, systemd));
        using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            // Never die on SIGHUP: re-read the configuration (or say there is none).
            c.Cancel = true;
            Guard.Run(() =>
            {
                systemd.Reloading();
                reloader.Reload();
                systemd.Reloaded();
            });
        });
        using PosixSignalRegistration statistics = PosixSignalRegistration.Create(SIGUSR1, c =>
        {
            c.Cancel = true;
            Guard.Run(() => LogStatistics(log, "SIGUSR1", metrics));
        });

        PrometheusEndpoint? metricsEndpoint = null;
        PidFile? pidFile = null;
        string step = $"cannot listen on {settings.Server.Socket}";
        try
        {
            Socket? inherited = Systemd.TakeListenSocket(out int passed);
            if (passed > 1)
            {
                CliLog.ExtraSockets(log, passed - 1);
            }

            if (inherited is null)
            {
                RunDirectory.EnsureFor(settings.Server.Socket, drop ? (uid, gid) : null);
            }

            server.Start(inherited);
            if (settings.Metrics is not null)
            {
                metricsEndpoint = PrometheusEndpoint.Start(settings.Metrics, metrics, log);
            }

            if (settings.PidFile is not null)
            {
                step = "not starting";
                pidFile = PidFile.Write(settings.PidFile, Environment.ProcessId);
            }

            if (drop)
            {
                step = $"cannot become {settings.User}";
                Privileges.Drop(uid, gid, []);
                CliLog.RunningAs(log, settings.User!, uid, gid);
                reloader.WarnIfUnreadable();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            string reason = $"{step}: {ex.Message}";
            CliLog.StartFailed(log, reason);
            pidFile?.RemoveIfStillOurs();
            ready.Fail(reason);
            if (!ready.IsConnected && settings.LogFile is not null)
            {
                // In the foreground the log is on standard error already, unless it goes to a file.
                Console.Error.WriteLine($"{ProgramName.Value}: {reason}");
            }

            return 1;
        }


        ready.Succeed();
        systemd.Ready();
        try
        {
            server.RunAsync(stopping.Token).GetAwaiter().GetResult();
        }
        finally
        {
            metricsEndpoint?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            LogStatistics(log, "shutdown", metrics);
            if (pidFile?.RemoveIfStillOurs() is { } notRemoved)
            {
                CliLog.PidFileNotRemoved(log, pidFile.Path, notRemoved);
            }
        }

        return 0;
    }

    /// <summary>Root needs -u (or --allow-root); -u needs root, unless the daemon already is that user.</summary>
    private static bool CheckIdentity(DaemonSettings settings, out uint uid, out uint gid, out bool drop, [NotNullWhen(false)] out string? error)
    {
        uid = gid = 0;
        drop = false;
        error = null;
        if (settings.User is not null)
        {
            if (!Privileges.TryResolve(settings.User, out uid, out gid, out string? problem))
            {
                error = $"-u {settings.User}: {problem}";
                return false;
            }

            if (Privileges.IsRoot)
            {
                drop = uid != 0 || settings.AllowRoot;
                if (uid == 0 && !settings.AllowRoot)
                {
                    error = $"-u {settings.User} is root; give an unprivileged user, or --allow-root";
                    return false;
                }

                return true;
            }

            if (Privileges.EffectiveUserId != uid)
            {
                error = $"-u {settings.User} needs the daemon to be started as root";
                return false;
            }

            return true;
        }

        if (Privileges.IsRoot && !settings.AllowRoot)
        {
            error = "refusing to run as root: give -u USER (for example -u postfix) to drop privileges after binding, or --allow-root";
            return false;
        }

        return true;
    }

    /// <summary>One line with the daemon's counters, including managed bytes allocated per message since listening.</summary>
    private static void LogStatistics(ILogger log, string when, MilterMetrics metrics)
    {
        ServerSnapshot s = metrics.Snapshot();
        CliLog.Statistics(log, when, s.ConnectionsAccepted, s.ConnectionsOpen, s.Messages, s.AllocatedBytes,
            s.AllocatedBytesPerMessage, s.Listening.TotalSeconds, s.ConnectionObjects, metrics.VerdictTotal(VerdictKind.Continue),
            metrics.VerdictTotal(VerdictKind.Accept), metrics.VerdictTotal(VerdictKind.Reject), metrics.VerdictTotal(VerdictKind.TempFail),
            metrics.VerdictTotal(VerdictKind.Discard), metrics.VerdictTotal(VerdictKind.Skip), metrics.Modifications, metrics.ProtocolErrors);
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stopping, ILogger log, Systemd systemd)
    {
        context.Cancel = true;
        Guard.Run(() =>
        {
            systemd.Stopping();
            CliLog.StopRequested(log, context.Signal.ToString());
        });

        // Outside the guard: whatever the log does, the stop itself must happen.
        stopping.Cancel();
    }
}
