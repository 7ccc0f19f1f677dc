using Microsoft.Extensions.Logging;

namespace AotMilter.Filters.Greylist;

internal static partial class GreylistLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Information,
        Message = "[{ConnectionId}] greylist: {Network} {Sender} -> {Recipient}: {Outcome}, tempfail; a retry passes in {Wait}")]
    public static partial void Greylisted(ILogger logger, long connectionId, string network, string sender, string recipient, GreylistOutcome outcome, TimeSpan wait);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information,
        Message = "[{ConnectionId}] greylist: {Network} {Sender} -> {Recipient}: passed after its delay")]
    public static partial void Passed(ILogger logger, long connectionId, string network, string sender, string recipient);
}
