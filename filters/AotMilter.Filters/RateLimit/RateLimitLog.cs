using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.RateLimit;

internal static partial class RateLimitLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning,
        Message = "[{ConnectionId}] ratelimit: {Key} is over {Limit} per {Window} ({Rule}); tempfail")]
    public static partial void Exceeded(ILogger logger, long connectionId, string key, int limit, TimeSpan window, string rule);
}
