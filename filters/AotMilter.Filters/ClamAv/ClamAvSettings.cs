using AotMilter.Configuration;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.ClamAv;

/// <summary>What the clamav filter does with a message clamd found something in (<c>action</c>).</summary>
public enum VirusAction
{
    /// <summary>Refuse it with <c>reply</c> (the default; 550 5.7.1 naming the virus).</summary>
    Reject,

    /// <summary>Accept it and throw it away: the sender is not told.</summary>
    Discard,

    /// <summary>Accept it into the MTA's quarantine (Postfix: hold queue) with the virus as the reason.</summary>
    Quarantine,

    /// <summary>Accept it with <c>X-Virus-Status: Infected (NAME)</c>, for a later stage to sort.</summary>
    Header,
}

/// <summary>
/// <code>
/// [clamav]
/// address = unix:/var/run/clamav/clamd.ctl   # Debian's clamd; or inet:3310@127.0.0.1
/// action = reject                             # or discard, quarantine, header
/// reply = "550 5.7.1 Virus found: %v"         # %v: the virus's name
/// add-header = no                             # yes: X-Virus-Scanned and X-Virus-Status on every scanned message
/// max-size = 25M                              # clamd's StreamMaxLength (Debian's default); larger messages are not scanned
/// # on-error, timeout, oversize, max-connections: see ScannerSettings
/// </code>
/// </summary>
public sealed class ClamAvSettings : IFilterSettings<ClamAvSettings>
{
    public const string DefaultAddress = "unix:/var/run/clamav/clamd.ctl";
    public const string DefaultReply = "550 5.7.1 Virus found: %v";

    private static readonly string[] Keys = [.. ScannerSettings.Keys, "action", "reply", "add-header"];

    public required ScannerSettings Scanner { get; init; }

    public VirusAction Action { get; init; }

    /// <summary>The reply to a virus, with <c>%v</c> where its name goes.</summary>
    public string ReplyTemplate { get; init; } = DefaultReply;

    public bool AddHeader { get; init; }

    public static ClamAvSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        ScannerSettings scanner = ScannerSettings.Parse(section, DefaultAddress, 25L << 20, 4L << 30, http: false, keepAlive: true);
        VirusAction action = VirusAction.Reject;
        if (section.Get("action") is ConfigEntry entry && !Enum.TryParse(entry.Value.Trim(), ignoreCase: true, out action))
        {
            section.Error(entry, $"'{entry.Value}' is not one of reject, discard, quarantine, header");
        }

        string reply = DefaultReply;
        if (section.Get("reply") is ConfigEntry replyEntry)
        {
            string text = ScannerSettings.Unquote(replyEntry.Value);

            // Checked with a sample name in place of %v: the reply must be a valid 5xx whatever the name.
            ConfigValues.ParseReply(section, replyEntry, text.Replace("%v", "Sample-Virus", StringComparison.Ordinal), SmtpReply.Parse("550 5.7.1 x"), transient: false);
            reply = text;
        }

        return new ClamAvSettings
        {
            Scanner = scanner,
            Action = action,
            ReplyTemplate = reply,
            AddHeader = section.ReadBool("add-header", false),
        };
    }

    /// <summary>The reply to <paramref name="virus"/>: its name in printable ASCII only, at most 200 characters.</summary>
    public SmtpReply RejectReply(string virus)
    {
        ArgumentNullException.ThrowIfNull(virus);
        Span<char> clean = stackalloc char[Math.Min(virus.Length, 200)];
        for (int i = 0; i < clean.Length; i++)
        {
            char c = virus[i];
            clean[i] = c is > ' ' and < (char)127 and not '%' ? c : '?';
        }

        return SmtpReply.Parse(ReplyTemplate.Replace("%v", clean.ToString(), StringComparison.Ordinal));
    }
}
