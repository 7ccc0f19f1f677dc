using AotMilter.Configuration;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.Rspamd;

/// <summary>
/// <code>
/// [rspamd]
/// address = http://127.0.0.1:11333   # Debian's rspamd normal worker; or unix:/path
/// spam-header = X-Spam               # the field the "add header" action adds (value Yes), as rspamd's proxy does
/// max-size = 20M                     # larger messages are not scanned
/// # on-error, timeout, oversize, max-connections: see ScannerSettings
/// </code>
/// </summary>
public sealed class RspamdSettings : IFilterSettings<RspamdSettings>
{
    public const string DefaultAddress = "http://127.0.0.1:11333";

    private static readonly string[] Keys = [.. ScannerSettings.Keys, "spam-header"];

    public required ScannerSettings Scanner { get; init; }

    public string SpamHeader { get; init; } = "X-Spam";

    public static RspamdSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        ScannerSettings scanner = ScannerSettings.Parse(section, DefaultAddress, 20L << 20, 1L << 30, http: true, keepAlive: true);
        string header = "X-Spam";
        if (section.Get("spam-header") is ConfigEntry entry)
        {
            string name = entry.Value.Trim();
            if (name.Length == 0 || name.Any(c => c <= ' ' || c == ':' || c >= 127))
            {
                section.Error(entry, $"'{entry.Value}' is not a header field name");
            }
            else
            {
                header = name;
            }
        }

        return new RspamdSettings { Scanner = scanner, SpamHeader = header };
    }
}
