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

    /// <summary>How long to wait for the MTA's next command (libmilter's default is 7210 s).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(7210);

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
