using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Cli;

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
}
