using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Disclaimer;

internal static partial class DisclaimerLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "[{ConnectionId}] disclaimer added to {Parts} part(s) of {QueueId}")]
    public static partial void Added(ILogger logger, long connectionId, int parts, string queueId);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "[{ConnectionId}] no disclaimer for {QueueId}: {Reason}")]
    public static partial void Skipped(ILogger logger, long connectionId, string queueId, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "[{ConnectionId}] disclaimer, {QueueId}: {Note}")]
    public static partial void Note(ILogger logger, long connectionId, string queueId, string note);
}
