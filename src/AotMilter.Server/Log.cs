using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Server;

/// <summary>The daemon's log lines, one method each (ZLogger source-generated, allocation-free when formatted).</summary>
internal static partial class Log
{
    [ZLoggerMessage(LogLevel.Information, "listening on {socket} with filters {filters}")]
    public static partial void Listening(ILogger logger, string socket, string filters);

    // The per-connection summary line is ConnectionSummary.Write (hand-written: allocation-free with byte values).

    [ZLoggerMessage(LogLevel.Error, "conn={connectionId} closed: protocol error {error}: {reason}")]
    public static partial void ProtocolError(ILogger logger, long connectionId, string error, string reason);

    [ZLoggerMessage(LogLevel.Error, "conn={connectionId} closed: internal error")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, Exception exception);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId} closed: {reason}")]
    public static partial void ConnectionDropped(ILogger logger, long connectionId, string reason);

    [ZLoggerMessage(LogLevel.Error, "filter {filter} failed in {callback} on conn={connectionId}; sending the fallback verdict")]
    public static partial void FilterFailed(ILogger logger, string filter, AotMilter.MilterEvent callback, long connectionId, Exception exception);

    [ZLoggerMessage(LogLevel.Debug, "conn={connectionId} negotiated: MTA v{offeredVersion} actions=0x{offeredActions:x} protocol=0x{offeredProtocol:x}; reply v{version} actions=0x{actions:x} protocol=0x{protocol:x}")]
    public static partial void Negotiated(ILogger logger, long connectionId, uint offeredVersion, uint offeredActions, uint offeredProtocol, uint version, uint actions, uint protocol);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: synchronous callbacks of {filters} for command '{command}' held I/O thread {thread} for {milliseconds} ms, delaying its other connections; a callback that waits should be async")]
    public static partial void LoopBlocked(ILogger logger, long connectionId, string filters, string command, int thread, long milliseconds);

    [ZLoggerMessage(LogLevel.Information, "shutting down: waiting up to {graceSeconds}s for {count} connection(s)")]
    public static partial void Draining(ILogger logger, double graceSeconds, int count);

    [ZLoggerMessage(LogLevel.Warning, "grace period over: cutting {count} connection(s)")]
    public static partial void CuttingConnections(ILogger logger, int count);

    [ZLoggerMessage(LogLevel.Information, "stopped listening on {socket}")]
    public static partial void Stopped(ILogger logger, string socket);

    [ZLoggerMessage(LogLevel.Error, "accept failed: {reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: message body exceeds {limit} bytes, more than a filter chain keeps to show later filters; sending the fallback verdict")]
    public static partial void ChainMessageTooLarge(ILogger logger, long connectionId, long limit);

    [ZLoggerMessage(LogLevel.Warning, "could not remove {path} at exit ({reason}); the next start replaces it")]
    public static partial void SocketNotRemoved(ILogger logger, string path, string reason);

    [ZLoggerMessage(LogLevel.Information, "left {path} in place at exit: it is another file now than the socket this instance bound (an instance started since listens there)")]
    public static partial void SocketReplaced(ILogger logger, string path);

    [ZLoggerMessage(LogLevel.Information, "metrics on {socket} (GET /metrics, Prometheus text)")]
    public static partial void MetricsListening(ILogger logger, string socket);

    [ZLoggerMessage(LogLevel.Debug, "metrics request dropped: {reason}")]
    public static partial void MetricsRequestFailed(ILogger logger, string reason);
}
