using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Rules;

internal static partial class RulesLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "[{ConnectionId}] rules: {Rule} matched: {Actions}")]
    public static partial void Matched(ILogger logger, long connectionId, string rule, string actions);
}
