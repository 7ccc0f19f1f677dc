using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Filters;

/// <summary>The log filter's messages, source-generated so that a disabled level costs one check.</summary>
internal static partial class LogFilterLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] connect from {HostName} [{Address}] port {Port} family {Family} to {DaemonName}")]
    public static partial void Connect(ILogger logger, long connectionId, string hostName, string address, ushort port, ConnectFamily family, string daemonName);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] helo {HeloName}")]
    public static partial void Helo(ILogger logger, long connectionId, string heloName);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] mail from <{Sender}> {EsmtpArguments} auth {AuthLogin}")]
    public static partial void MailFrom(ILogger logger, long connectionId, string sender, string esmtpArguments, string authLogin);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] rcpt to <{Recipient}> {EsmtpArguments}")]
    public static partial void RcptTo(ILogger logger, long connectionId, string recipient, string esmtpArguments);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "[{ConnectionId}] data")]
    public static partial void Data(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] header {HeaderName}: {HeaderValue}")]
    public static partial void Header(ILogger logger, long connectionId, string headerName, string headerValue);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "[{ConnectionId}] end of headers")]
    public static partial void EndOfHeaders(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "[{ConnectionId}] body chunk of {ChunkLength} bytes")]
    public static partial void Body(ILogger logger, long connectionId, int chunkLength);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] end of message, queue id {QueueId}: adding {HeaderName}: {Version}")]
    public static partial void EndOfMessage(ILogger logger, long connectionId, string queueId, string headerName, string version);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "[{ConnectionId}] abort")]
    public static partial void Abort(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "[{ConnectionId}] close")]
    public static partial void Close(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, SkipEnabledCheck = true,
        Message = "[{ConnectionId}] unknown command {Command}")]
    public static partial void Unknown(ILogger logger, long connectionId, string command);
}
