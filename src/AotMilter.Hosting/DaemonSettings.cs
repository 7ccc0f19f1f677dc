using AotMilter.Server;
using Microsoft.Extensions.Logging;

namespace AotMilter.Hosting;

/// <summary>Everything the command line decided, for <see cref="Daemon.Run"/>.</summary>
internal sealed record DaemonSettings
{
    public required MilterServerOptions Server { get; init; }

    public required IReadOnlyList<MilterRegistration> Filters { get; init; }

    /// <summary>Every filter compiled in (a configuration file is checked against all of them).</summary>
    public IReadOnlyList<MilterRegistration> KnownFilters { get; init; } = [];

    /// <summary>The configuration file (-c), or null to run every filter with its defaults.</summary>
    public string? ConfigPath { get; init; }

    public bool Detach { get; init; }

    /// <summary>Where to serve Prometheus metrics, or null.</summary>
    public AotMilter.Protocol.SocketSpec? Metrics { get; init; }

    /// <summary>USER[:GROUP] to become after binding, when started as root.</summary>
    public string? User { get; init; }

    /// <summary>Keep running as root when no user is given.</summary>
    public bool AllowRoot { get; init; }

    public string? PidFile { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public string? LogFile { get; init; }

    /// <summary>Event-loop threads (0: one per core).</summary>
    public int IoThreads { get; init; }

    /// <summary>How long an I/O thread under load looks for its next event before it sleeps (zero: never).</summary>
    public TimeSpan BusyPoll { get; init; } = EventLoopGroup.DefaultBusyPoll;
}
