using System.Globalization;
using AotMilter.Configuration;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.SpamAssassin;

/// <summary>
/// <code>
/// [spamassassin]
/// address = inet:783@127.0.0.1          # Debian's spamd; or unix:/path (spamd --socketpath)
/// reject-score = 15                      # refuse at or above this score (default: never refuse, only mark)
/// reply = "550 5.7.1 Blocked by SpamAssassin"
/// quarantine = no                        # yes: spam under reject-score goes to the MTA's quarantine
/// subject-tag = "[SPAM]"                 # put before the Subject of spam (default: none)
/// user = nobody                          # spamd's per-user settings (spamc -u); default: spamd's own
/// max-size = 500K                        # spamc's default; larger messages are not scanned
/// # on-error, timeout, oversize, max-connections: see ScannerSettings
/// </code>
/// </summary>
public sealed class SpamAssassinSettings : IFilterSettings<SpamAssassinSettings>
{
    public const string DefaultAddress = "inet:783@127.0.0.1";
    public static readonly SmtpReply DefaultReply = SmtpReply.Create(550, "5.7.1", "Blocked by SpamAssassin");

    private static readonly string[] Keys = [.. ScannerSettings.Keys, "reject-score", "reply", "quarantine", "subject-tag", "user"];

    public required ScannerSettings Scanner { get; init; }

    /// <summary>The score at or above which a message is refused; null: never.</summary>
    public double? RejectScore { get; init; }

    public SmtpReply Reply { get; init; } = DefaultReply;

    public bool Quarantine { get; init; }

    public string? SubjectTag { get; init; }

    public string? User { get; init; }

    public static SpamAssassinSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        ScannerSettings scanner = ScannerSettings.Parse(section, DefaultAddress, 500 * 1024, 256L << 20, http: false, keepAlive: false);
        double? rejectScore = null;
        if (section.Get("reject-score") is ConfigEntry scoreEntry)
        {
            if (double.TryParse(scoreEntry.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double score) && double.IsFinite(score))
            {
                rejectScore = score;
            }
            else
            {
                section.Error(scoreEntry, $"'{scoreEntry.Value}' is not a score (a number such as 15 or 7.5)");
            }
        }

        SmtpReply reply = DefaultReply;
        if (section.Get("reply") is ConfigEntry replyEntry)
        {
            reply = ConfigValues.ParseReply(section, replyEntry, ScannerSettings.Unquote(replyEntry.Value), DefaultReply, transient: false);
        }

        string? user = section.Get("user")?.Value.Trim();
        if (user is not null && (user.Length == 0 || user.Any(c => c <= ' ' || c >= 127)))
        {
            section.Error(section.Get("user")!, "a user name is one word of printable ASCII");
            user = null;
        }

        string? tag = section.Get("subject-tag") is ConfigEntry tagEntry ? ScannerSettings.Unquote(tagEntry.Value) : null;
        return new SpamAssassinSettings
        {
            Scanner = scanner,
            RejectScore = rejectScore,
            Reply = reply,
            Quarantine = section.ReadBool("quarantine", false),
            SubjectTag = string.IsNullOrEmpty(tag) ? null : tag,
            User = user,
        };
    }
}
