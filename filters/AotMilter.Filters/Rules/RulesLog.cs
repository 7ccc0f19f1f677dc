using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Rules;

internal static partial class RulesLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "[{ConnectionId}] rules: {Rule} matched: {Actions}")]
    public static partial void Matched(ILogger logger, long connectionId, string rule, string actions);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "[{ConnectionId}] rules, {QueueId}: the body is larger than max-body-scan; body rules read its first {Limit} bytes")]
    public static partial void BodyCut(ILogger logger, long connectionId, string queueId, long limit);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "[{ConnectionId}] rules, {QueueId}: the daemon's memory budget (--max-memory) had no room for more of the body than its first {Length} bytes; tempfail")]
    public static partial void BodyCutByBudget(ILogger logger, long connectionId, string queueId, int length);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "[{ConnectionId}] rules, {QueueId}: {Reason}; body rules read the parts before it; over-limits: {Actions}")]
    public static partial void OverLimits(ILogger logger, long connectionId, string queueId, string reason, string actions);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "[{ConnectionId}] rules: a rule redirects the message, but its recipients exceed {Limit} bytes and are not all known; tempfail")]
    public static partial void RedirectTooManyRecipients(ILogger logger, long connectionId, int limit);
}
