using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Hosting;

internal static partial class CliLog
{
    [ZLoggerMessage(LogLevel.Critical, "{reason}")]
    public static partial void StartFailed(ILogger logger, string reason);

    [ZLoggerMessage(LogLevel.Information, "{signal}: stopping")]
    public static partial void StopRequested(ILogger logger, string signal);

    [ZLoggerMessage(LogLevel.Information, "SIGHUP ignored: {reason}")]
    public static partial void HangupIgnored(ILogger logger, string reason);

    [ZLoggerMessage(LogLevel.Warning, "the service manager passed {count} more socket(s); only the first is used")]
    public static partial void ExtraSockets(ILogger logger, int count);

    [ZLoggerMessage(LogLevel.Information, "running as {user} (uid {uid}, gid {gid})")]
    public static partial void RunningAs(ILogger logger, string user, uint uid, uint gid);

    [ZLoggerMessage(LogLevel.Error, "{error}")]
    public static partial void ConfigError(ILogger logger, string error);

    [ZLoggerMessage(LogLevel.Error, "SIGHUP: {path} has {count} error(s); keeping the previous settings")]
    public static partial void ReloadRejected(ILogger logger, string path, int count);

    [ZLoggerMessage(LogLevel.Error, "SIGHUP: cannot re-read {path}: permission denied: the daemon runs as {user} after -u; make the file readable by it (for example mode 0640 and the daemon's group); keeping the previous settings")]
    public static partial void ReloadNotPermitted(ILogger logger, string path, string user);

    [ZLoggerMessage(LogLevel.Warning, "SIGHUP will not be able to re-read {path}: permission denied: the daemon runs as {user} after -u; make the file readable by it (for example mode 0640 and the daemon's group)")]
    public static partial void ConfigNotReloadable(ILogger logger, string path, string user);

    [ZLoggerMessage(LogLevel.Warning, "could not remove pid file {path} at exit ({reason}); the next start replaces it")]
    public static partial void PidFileNotRemoved(ILogger logger, string path, string reason);

    [ZLoggerMessage(LogLevel.Information, "SIGHUP: settings reloaded from {path} ({sections} sections, {entries} settings); new connections use them")]
    public static partial void Reloaded(ILogger logger, string path, int sections, int entries);

    // The verdict counts are fields of their own, not one formatted string: the line allocates nothing of its own, so
    // the SIGUSR1 line that measures the daemon's allocation adds as little as it can to what it measures.
    [ZLoggerMessage(LogLevel.Information, "statistics ({when}): connections={connections} open={open} messages={messages} allocated_bytes={allocated} allocated_bytes_per_message={perMessage:F1} listening_s={listening:F1} connection_objects={connectionObjects} continue={continued} accept={accepted} reject={rejected} tempfail={tempFailed} discard={discarded} skip={skipped} modifications={modifications} protocol_errors={protocolErrors}")]
    public static partial void Statistics(ILogger logger, string when, long connections, long open, long messages, long allocated, double perMessage, double listening, long connectionObjects, long continued, long accepted, long rejected, long tempFailed, long discarded, long skipped, long modifications, long protocolErrors);
}
