using AotMilter.Configuration;

namespace AotMilter.Filters.Limits;

/// <summary>
/// Size and count limits, each with its reply (absent = no limit):
/// <code>
/// [limits]
/// max-message-size = 25M
/// max-recipients = 100 reply="452 4.5.3 Too many recipients, send the rest later"
/// max-headers = 300
/// max-header-line = 998
/// </code>
/// </summary>
public sealed class LimitsSettings : IFilterSettings<LimitsSettings>
{
    public static readonly SmtpReply DefaultSizeReply = SmtpReply.Create(552, "5.3.4", "Message size exceeds fixed limit");
    public static readonly SmtpReply DefaultRecipientsReply = SmtpReply.Create(452, "4.5.3", "Too many recipients");
    public static readonly SmtpReply DefaultHeadersReply = SmtpReply.Create(552, "5.3.4", "Too many header fields");
    public static readonly SmtpReply DefaultHeaderLineReply = SmtpReply.Create(552, "5.6.0", "Header line too long");

    private static readonly string[] Keys = ["max-message-size", "max-recipients", "max-headers", "max-header-line"];

    /// <summary>The message size in bytes (header fields and body, as the MTA passes them), or 0 for no limit.</summary>
    public long MaxMessageSize { get; init; }

    public SmtpReply SizeReply { get; init; } = DefaultSizeReply;

    public int MaxRecipients { get; init; }

    public SmtpReply RecipientsReply { get; init; } = DefaultRecipientsReply;

    public int MaxHeaders { get; init; }

    public SmtpReply HeadersReply { get; init; } = DefaultHeadersReply;

    /// <summary>The longest physical header line ("Name: value" or a continuation line), without its line ending.</summary>
    public int MaxHeaderLine { get; init; }

    public SmtpReply HeaderLineReply { get; init; } = DefaultHeaderLineReply;

    public static LimitsSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        (long size, SmtpReply sizeReply) = Read(section, "max-message-size", DefaultSizeReply, isSize: true);
        (long recipients, SmtpReply recipientsReply) = Read(section, "max-recipients", DefaultRecipientsReply, isSize: false);
        (long headers, SmtpReply headersReply) = Read(section, "max-headers", DefaultHeadersReply, isSize: false);
        (long line, SmtpReply lineReply) = Read(section, "max-header-line", DefaultHeaderLineReply, isSize: false);
        return new LimitsSettings
        {
            MaxMessageSize = size,
            SizeReply = sizeReply,
            MaxRecipients = (int)Math.Min(recipients, int.MaxValue),
            RecipientsReply = recipientsReply,
            MaxHeaders = (int)Math.Min(headers, int.MaxValue),
            HeadersReply = headersReply,
            MaxHeaderLine = (int)Math.Min(line, int.MaxValue),
            HeaderLineReply = lineReply,
        };
    }

    private static (long Value, SmtpReply Reply) Read(ConfigSection section, string key, SmtpReply fallback, bool isSize)
    {
        ConfigEntry? entry = section.Get(key);
        if (entry is null)
        {
            return (0, fallback);
        }

        List<ConfigWord> words = ConfigWords.Split(section, entry);
        long value = 0;
        SmtpReply reply = fallback;
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i].IsOption("reply", out string text))
            {
                reply = ConfigValues.ParseReply(section, entry, text, fallback);
            }
            else if (i == 0 && (isSize ? ConfigValues.TryParseSize(words[i].Text, out value) : long.TryParse(words[i].Text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value)) && value > 0)
            {
                continue;
            }
            else
            {
                section.Error(entry, i == 0
                    ? $"'{words[i]}' is not a {(isSize ? "size (examples: 512K, 25M)" : "positive whole number")}"
                    : $"unexpected '{words[i]}'; write {key} = LIMIT [reply=\"CODE X.Y.Z text\"]");
            }
        }

        if (words.Count == 0)
        {
            section.Error(entry, $"write {key} = LIMIT [reply=\"CODE X.Y.Z text\"]");
        }

        return (value, reply);
    }
}
