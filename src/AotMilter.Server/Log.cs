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

    // The accept lines go through a LogRateLimiter: at the descriptor limit accept fails many times a second.
    [ZLoggerMessage(LogLevel.Error, "accept failed: {reason}; pausing accepts for {pauseMs} ms ({suppressed} more such failure(s) since the last line; one line per {intervalSeconds} s at most)")]
    public static partial void AcceptPaused(ILogger logger, string reason, int pauseMs, long suppressed, double intervalSeconds);

    [ZLoggerMessage(LogLevel.Error, "accept failed: {reason} ({suppressed} more such failure(s) since the last line; one line per {intervalSeconds} s at most)")]
    public static partial void AcceptFailed(ILogger logger, string reason, long suppressed, double intervalSeconds);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: message exceeds {limit} bytes (headers and body), more than a filter chain keeps to show later filters (--max-chain-message-size); sending the fallback verdict")]
    public static partial void ChainMessageTooLarge(ILogger logger, long connectionId, long limit);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: the daemon's memory budget (--max-memory) is spent, so the chain cannot keep this message for its later filters; sending the fallback verdict")]
    public static partial void ChainMessageOverBudget(ILogger logger, long connectionId);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: the daemon's memory budget (--max-memory) has no room for this message's {bytes} bytes of edits and replaced body; sending the fallback verdict without the edits")]
    public static partial void RepliesOverBudget(ILogger logger, long connectionId, long bytes);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: callback of {callback} passed its deadline ({seconds}s): cancelled, the fallback verdict replaces its result")]
    public static partial void CallbackTimedOut(ILogger logger, long connectionId, string callback, double seconds);

    [ZLoggerMessage(LogLevel.Error, "conn={connectionId} closed: callback of {callback} did not return {grace} ms after it was cancelled; {outcome}, the callback is abandoned")]
    public static partial void CallbackAbandoned(ILogger logger, long connectionId, string callback, long grace, string outcome);

    [ZLoggerMessage(LogLevel.Error, "conn={connectionId}: close callbacks of {filters} did not return within {seconds}s; cancelled, the connection is counted as closed and not reused")]
    public static partial void CloseCallbacksAbandoned(ILogger logger, long connectionId, string filters, double seconds);

    [ZLoggerMessage(LogLevel.Warning, "conn={connectionId}: the MTA hung up while callback of {callback} ran; cancelled")]
    public static partial void HungUpDuringCallback(ILogger logger, long connectionId, string callback);

    [ZLoggerMessage(LogLevel.Warning, "refusing new connections: {reason}; the MTA applies its default action ({suppressed} more refused since the last such line, at most one per {seconds}s)")]
    public static partial void ConnectionsRefused(ILogger logger, string reason, long suppressed, double seconds);

    [ZLoggerMessage(LogLevel.Warning, "could not remove {path} at exit ({reason}); the next start replaces it")]
    public static partial void SocketNotRemoved(ILogger logger, string path, string reason);

    [ZLoggerMessage(LogLevel.Information, "left {path} in place at exit: it is another file now than the socket this instance bound (an instance started since listens there)")]
    public static partial void SocketReplaced(ILogger logger, string path);

    [ZLoggerMessage(LogLevel.Information, "metrics on {socket} (GET /metrics, Prometheus text)")]
    public static partial void MetricsListening(ILogger logger, string socket);

    [ZLoggerMessage(LogLevel.Debug, "metrics request dropped: {reason}")]
    public static partial void MetricsRequestFailed(ILogger logger, string reason);

    [ZLoggerMessage(LogLevel.Error, "metrics: accept failed: {reason}; pausing accepts for {pauseMs} ms ({suppressed} more such failure(s) since the last line; one line per {intervalSeconds} s at most)")]
    public static partial void MetricsAcceptPaused(ILogger logger, string reason, int pauseMs, long suppressed, double intervalSeconds);

    [ZLoggerMessage(LogLevel.Warning, "metrics: {limit} requests already open; closing new connections at once until one ends ({suppressed} more closed since the last line; one line per {intervalSeconds} s at most)")]
    public static partial void MetricsClientsFull(ILogger logger, int limit, long suppressed, double intervalSeconds);
}
