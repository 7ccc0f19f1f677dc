using AotMilter.Configuration;

namespace AotMilter.Filters.Mime;

/// <summary>
/// How much MIME structure the parser reads before it stops: parts in all (every depth, the message itself not
/// counted), header fields in one part's header block, and bytes in one part's header block (which also bounds one
/// field). Real mail stays far below the defaults (the shared corpus: at most 7 parts, 4 fields and 224 bytes of
/// header in a part, nested 3 deep); a message built to make the parser work, such as a megabyte of empty parts,
/// stops at them. With these limits the parser keeps at most <see cref="MaxParts"/> parts and four fields per part,
/// whatever the message, and reads the body once.
/// </summary>
public readonly record struct MimeLimits(int MaxParts, int MaxHeaderFields, int MaxHeaderBytes)
{
    public const int DefaultMaxParts = 500;
    public const int DefaultMaxHeaderFields = 1000;
    public const int DefaultMaxHeaderBytes = 64 * 1024;

    public static MimeLimits Default { get; } = new(DefaultMaxParts, DefaultMaxHeaderFields, DefaultMaxHeaderBytes);

    /// <summary>The configuration keys of <see cref="Read"/>, for a filter's list of known keys.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["max-mime-parts", "max-part-header-fields", "max-part-header-size"];

    /// <summary>The limits a filter's section sets (<c>max-mime-parts</c>, <c>max-part-header-fields</c>, <c>max-part-header-size</c>), or the defaults.</summary>
    public static MimeLimits Read(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new MimeLimits(
            section.ReadInt("max-mime-parts", DefaultMaxParts, 1, 100_000),
            section.ReadInt("max-part-header-fields", DefaultMaxHeaderFields, 1, 100_000),
            (int)section.ReadSize("max-part-header-size", DefaultMaxHeaderBytes, 1024, 16L << 20));
    }

    /// <summary>Which limit a message went beyond, for a log line ("more than 500 MIME parts").</summary>
    public string Describe(MimeLimit limit) => limit switch
    {
        MimeLimit.Parts => $"more than {MaxParts} MIME parts (max-mime-parts)",
        MimeLimit.HeaderFields => $"a MIME part with more than {MaxHeaderFields} header fields (max-part-header-fields)",
        MimeLimit.HeaderBytes => $"a MIME part whose header is larger than {MaxHeaderBytes} bytes (max-part-header-size)",
        _ => "within the MIME limits",
    };
}
