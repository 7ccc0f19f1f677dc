using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>What <c>aotmilter bench</c> was asked to do (see <see cref="BenchCommand"/> for the options).</summary>
internal sealed record BenchSettings
{
    /// <summary>The largest body chunk a milter accepts without negotiating more.</summary>
    public const int MaxChunk = MilterFrameWriter.MaxChunkSize;

    public required SocketSpec Socket { get; init; }

    public int Connections { get; init; } = 1;

    /// <summary>Total messages to send; 0 when <see cref="Duration"/> decides.</summary>
    public long Messages { get; init; }

    /// <summary>How long to send messages; zero when <see cref="Messages"/> decides.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The generated message's body size (without <see cref="MessageFiles"/>).</summary>
    public int BodySize { get; init; } = 4096;

    /// <summary>The generated message's header fields (without <see cref="MessageFiles"/>).</summary>
    public int Headers { get; init; } = 10;

    /// <summary>Message files sent in turn instead of the generated message, each with the verdict it must get.</summary>
    public IReadOnlyList<BenchMessageFile> MessageFiles { get; init; } = [];

    public int MessagesPerConnection { get; init; } = 1;

    public int Chunk { get; init; } = MaxChunk;

    public string Recipient { get; init; } = "user@example.com";

    /// <summary>The recipient must be refused (reject, or a 5xx reply code); the message ends there.</summary>
    public bool ExpectReject { get; init; }

    /// <summary>A header the end of message must add; for X-Bench its value must be the number of headers sent.</summary>
    public string? ExpectHeader { get; init; }

    public ProtocolFlags OfferProtocol { get; init; } = ProtocolFlags.AllVersion6;

    public ActionFlags OfferActions { get; init; } = ActionFlags.AllVersion6;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop early after this many errors.</summary>
    public long MaxErrors { get; init; } = 100;

    public string Label { get; init; } = "";

    /// <summary>Event-loop threads of the generator, each driving its share of the connections (one: like milter-load).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Idle mode: open this many connections, negotiate, send connect and HELO, then hold them.</summary>
    public int Idle { get; init; }

    /// <summary>True when <see cref="ExpectHeader"/> is X-Bench, whose value is checked too.</summary>
    public bool ChecksBenchHeader => string.Equals(ExpectHeader, "X-Bench", StringComparison.OrdinalIgnoreCase);
}
