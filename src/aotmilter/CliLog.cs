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

    [ZLoggerMessage(LogLevel.Information, "statistics ({when}): connections={connections} open={open} messages={messages} allocated_bytes={allocated} allocated_bytes_per_message={perMessage:F1} listening_s={listening:F1}")]
    public static partial void Statistics(ILogger logger, string when, long connections, long open, long messages, long allocated, double perMessage, double listening);
}
