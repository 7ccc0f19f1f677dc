using AotMilter.Configuration;

namespace AotMilter.Filters.Scanning;

/// <summary>What a scanning filter answers when the scan gave no verdict (<c>on-error</c>) or was not made (<c>oversize</c>).</summary>
public enum ScanFallback
{
    TempFail,
    Accept,
}

/// <summary>
/// The settings every scanning filter has, read from its section:
/// <code>
/// address = unix:/run/clamav/clamd.ctl   # or inet:3310@127.0.0.1; rspamd: http://127.0.0.1:11333
/// on-error = tempfail                    # or accept: what a scanner that is down, slow or confused gives
/// timeout = 30s                          # per scan, from the first byte sent to the reply
/// max-size = 25M                         # larger messages are not scanned
/// oversize = accept                      # or tempfail: what a message over max-size gives
/// max-connections = 16                   # scans at once; as many idle connections are kept alive
/// </code>
/// </summary>
public sealed class ScannerSettings
{
    /// <summary>The reply of an <c>on-error = tempfail</c> (and <c>oversize = tempfail</c>) verdict.</summary>
    public static readonly SmtpReply ErrorReply = SmtpReply.Create(451, "4.3.0", "Message could not be scanned, try again later");

    /// <summary>The keys <see cref="Parse"/> reads; a filter's settings list them with their own.</summary>
    public static readonly string[] Keys = ["address", "on-error", "timeout", "max-size", "oversize", "max-connections"];

    /// <summary>How long an idle kept-alive connection is kept (below clamd's and rspamd's own idle limits).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);

    public required ScannerAddress Address { get; init; }

    public ScanFallback OnError { get; init; } = ScanFallback.TempFail;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    public long MaxSize { get; init; }

    public ScanFallback Oversize { get; init; } = ScanFallback.Accept;

    public int MaxConnections { get; init; } = 16;

    /// <summary>The pool of connections these settings name (shared by every filter instance made with them).</summary>
    public required ScannerPool Pool { get; init; }

    /// <summary>Reads the common keys of <paramref name="section"/>; <paramref name="http"/> allows an http:// address.</summary>
    public static ScannerSettings Parse(ConfigSection section, string defaultAddress, long defaultMaxSize, long maxMaxSize, bool http, bool keepAlive)
    {
        ArgumentNullException.ThrowIfNull(section);
        ConfigEntry? addressEntry = section.Get("address");
        string addressText = addressEntry?.Value ?? defaultAddress;
        ScannerAddress? address;
        string? error;
        bool parsed = http
            ? ScannerAddress.TryParseHttp(addressText, out address, out error)
            : ScannerAddress.TryParseSocket(addressText, out address, out error);
        if (!parsed)
        {
            section.Error(addressEntry!, error!);
            ScannerAddress.TryParseSocket(defaultAddress.StartsWith("http", StringComparison.Ordinal) ? "inet:1@127.0.0.1" : defaultAddress, out address, out _);
        }

        TimeSpan timeout = section.ReadDuration("timeout", TimeSpan.FromSeconds(30));
        int maxConnections = section.ReadInt("max-connections", 16, 1, 1024);
        return new ScannerSettings
        {
            Address = address!,
            OnError = ReadFallback(section, "on-error"),
            Timeout = timeout,
            MaxSize = section.ReadSize("max-size", defaultMaxSize, 1024, maxMaxSize),
            Oversize = ReadFallback(section, "oversize", ScanFallback.Accept),
            MaxConnections = maxConnections,
            Pool = ScannerPool.For(section.Name, address!, maxConnections, keepAlive, IdleTimeout),
        };
    }

    /// <summary>The verdict for a scan that failed, as <see cref="OnError"/> says.</summary>
    public Verdict ErrorVerdict => OnError == ScanFallback.Accept ? Verdict.Continue : Verdict.TempFailWith(ErrorReply);

    /// <summary>A value written in quotes (<c>reply = "550 5.7.1 No"</c>) without them; any other value trimmed.</summary>
    public static string Unquote(string value)
        => ConfigWords.TrySplit(value, out List<ConfigWord> words, out _) && words.Count == 1 && words[0].Kind == ConfigWordKind.Quoted ? words[0].Text : value.Trim();

    private static ScanFallback ReadFallback(ConfigSection section, string key, ScanFallback fallback = ScanFallback.TempFail)
    {
        ConfigEntry? entry = section.Get(key);
        switch (entry?.Value.Trim().ToLowerInvariant())
        {
            case null:
                return fallback;
            case "tempfail":
                return ScanFallback.TempFail;
            case "accept":
                return ScanFallback.Accept;
            default:
                section.Error(entry, $"'{entry.Value}' is neither tempfail nor accept");
                return fallback;
        }
    }
}
