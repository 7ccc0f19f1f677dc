using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>How the daemon listens and behaves. Defaults are what a mail admin would expect.</summary>
public sealed record MilterServerOptions
{
    /// <summary>Where <see cref="MilterServer.Start"/> listens (<see cref="MilterServer.ServeAsync"/> does not use it).</summary>
    public required SocketSpec Socket { get; init; }

    /// <summary>Mode of a unix socket. Default 0660, which with the group below lets Postfix (user postfix) connect.</summary>
    public UnixFileMode SocketMode { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>Group of a unix socket. Null: "postfix" when that group exists, else unchanged.</summary>
    public string? SocketGroup { get; init; }

    /// <summary>
    /// User id a bound unix socket file is given to; null leaves it to the user that binds it. The daemon started as
    /// root with <c>-u</c> gives it to that user, which can then remove it at exit even from a sticky directory.
    /// </summary>
    public uint? SocketOwner { get; init; }

    /// <summary>The largest frame payload accepted from the MTA. Postfix sends headers larger than 64 KiB.</summary>
    public int MaxPacketSize { get; init; } = 1024 * 1024;

    /// <summary>The verdict sent when a filter throws (logged). Never "continue" by default: a failing filter must not let mail through silently.</summary>
    public VerdictKind FallbackVerdict { get; init; } = VerdictKind.TempFail;

    /// <summary>How long in-flight connections may run after SIGTERM before they are cut.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the MTA's next command (libmilter's default is 7210 s). Only complete commands
    /// restart it: a peer that trickles a byte now and then is cut by <see cref="FrameTimeout"/>.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(7210);

    /// <summary>How long a new connection may take to send its option negotiation (Postfix's milter_connect_timeout is 30 s).</summary>
    public TimeSpan NegotiationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a frame may take to arrive whole, from its first byte.</summary>
    public TimeSpan FrameTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long one callback may run. At the deadline its <see cref="MilterContext.CallbackAborted"/> token fires
    /// and the fallback verdict is sent; a callback that still has not returned a moment later is abandoned and its
    /// connection closed. Also the cap on progress at end of message: the MTA is kept waiting no longer than this.
    /// </summary>
    public TimeSpan CallbackTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Connections served at once; beyond it a new connection is closed at once (the MTA applies its default action).</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>
    /// Closed connections are kept for the next ones; those not needed for this long are let go, so the memory of a
    /// burst goes back (60 s).
    /// </summary>
    public TimeSpan PoolTrimInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The clock the connections' deadlines are measured with (negotiation, frame, idle, callback, progress). The
    /// system clock in the daemon; a test can pass a clock it moves itself, to reach a deadline of hours at once. The
    /// I/O threads still look at the deadlines about once a second of real time.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The I/O threads the server's connections run on (default: <see cref="EventLoopGroup.Shared"/>).</summary>
    public EventLoopGroup EventLoops { get; init; } = EventLoopGroup.Shared;

    /// <summary>
    /// The bytes peers may make the daemon hold beyond each connection's fixed working set, for the whole process:
    /// frame buffers above their working size and the chains' message copies. When reached, a frame or message
    /// that needs more closes its connection and new connections are closed at once.
    /// </summary>
    public long MaxMemory { get; init; } = 512L * 1024 * 1024;

    /// <summary>Listen backlog.</summary>
    public int Backlog { get; init; } = 1024;

    /// <summary>When false, the negotiation asks for a reply to every event (like libmilter's default), even where
    /// the filters' callbacks cannot change the outcome.</summary>
    public bool UseNoReplyFlags { get; init; } = true;


    /// <summary>The largest message body a chain of filters keeps in memory to show its later filters.</summary>
    public long MaxChainMessageSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>How often to send progress while an end-of-message callback is still running (zero: never).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);
}
