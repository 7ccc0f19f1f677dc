using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Policy;

internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information,
        Message = "[{ConnectionId}] policy: {Rule} matched {Subject}: {Action} at {Stage}")]
    public static partial void Matched(ILogger logger, long connectionId, string rule, PolicyAction action, PolicyStage stage, string subject);
}
