using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Scanning;

/// <summary>One line per scanned message: what the scanner said, what was done, how long it took.</summary>
internal static partial class ScanLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information,
        Message = "[{ConnectionId}] {Scanner}: {QueueId}: {Result}; {Action} ({Milliseconds} ms)")]
    public static partial void Verdict(ILogger logger, long connectionId, string scanner, string queueId, string result, string action, long milliseconds);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning,
        Message = "[{ConnectionId}] {Scanner}: {QueueId}: scan failed: {Reason}; {Action} (on-error)")]
    public static partial void Failed(ILogger logger, long connectionId, string scanner, string queueId, string reason, string action);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information,
        Message = "[{ConnectionId}] {Scanner}: {QueueId}: not scanned: {Size} bytes is more than max-size ({MaxSize}); {Action} (oversize)")]
    public static partial void Oversize(ILogger logger, long connectionId, string scanner, string queueId, long size, long maxSize, string action);
}
