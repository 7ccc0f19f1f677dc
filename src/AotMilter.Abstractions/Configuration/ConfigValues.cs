using System.Globalization;

namespace AotMilter.Configuration;

/// <summary>
/// Readers for the value types settings use: sizes (<c>10M</c>), durations (<c>1h</c>), counts, yes/no, replies and
/// lists. Each <c>Read…</c> method reports a bad value as an error on the entry and returns the default instead, so
/// a settings parser can go on and report every problem of the file at once.
/// </summary>
public static class ConfigValues
{
    /// <summary>Reports every entry whose key is not in <paramref name="known"/> (a misspelt key must not be ignored silently).</summary>
    public static void CheckKeys(this ConfigSection section, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(known);
        foreach (ConfigEntry entry in section.Entries)
        {
            if (!known.Contains(entry.Key, StringComparer.OrdinalIgnoreCase))
            {
                section.Error(entry, $"unknown setting; [{section.Name}] knows {string.Join(", ", known)}");
            }
        }
    }

    /// <summary>A byte count: <c>1048576</c>, <c>512K</c>, <c>10M</c>, <c>1G</c> (binary units; a trailing B is allowed).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        bytes = 0;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        if (s.Length > 1 && (s[^1] is 'b' or 'B') && !char.IsAsciiDigit(s[^2]))
        {
            s = s[..^1];
        }

        long unit = 1;
        if (s.Length > 0)
        {
            switch (char.ToUpperInvariant(s[^1]))
            {
                case 'K': unit = 1L << 10; s = s[..^1]; break;
                case 'M': unit = 1L << 20; s = s[..^1]; break;
                case 'G': unit = 1L << 30; s = s[..^1]; break;
                case 'B': s = s[..^1]; break;
            }
        }

        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / unit)
        {
            return false;
        }

        bytes = n * unit;
        return true;
    }

    /// <summary>A duration: <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, or a plain number of seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        duration = default;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        double unit = 1;
        if (s.Length > 0 && char.IsAsciiLetter(s[^1]))
        {
            unit = char.ToLowerInvariant(s[^1]) switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 7 * 86400,
                _ => 0,
            };
            s = s[..^1];
        }

        // At most ten years, whatever the unit: 99999999w would not fit a TimeSpan.
        if (unit == 0 || !long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > 10L * 365 * 86400 / unit)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(n * unit);
        return true;
    }

    /// <summary>yes/no, true/false, on/off, 1/0.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text.Trim().ToLowerInvariant())
        {
            case "yes" or "true" or "on" or "1":
                value = true;
                return true;
            case "no" or "false" or "off" or "0":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>The size in <paramref name="key"/>, or <paramref name="fallback"/> when absent or invalid (reported).</summary>
    public static long ReadSize(this ConfigSection section, string key, long fallback, long min = 0, long max = long.MaxValue)
        => Read(section, key, fallback, TryParseSize, "a size (examples: 1048576, 512K, 10M, 1G)", min, max);

    /// <summary>The whole number in <paramref name="key"/>, or <paramref name="fallback"/> when absent or invalid (reported).</summary>
    public static int ReadInt(this ConfigSection section, string key, int fallback, int min = 0, int max = int.MaxValue)
        => Read(section, key, fallback, static (string text, out int value) => int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value), "a whole number", min, max);

    /// <summary>The duration in <paramref name="key"/>, or <paramref name="fallback"/> when absent or invalid (reported).</summary>
    public static TimeSpan ReadDuration(this ConfigSection section, string key, TimeSpan fallback)
        => Read(section, key, fallback, static (string text, out TimeSpan value) => TryParseDuration(text, out value) && value > TimeSpan.Zero, "a duration (examples: 30s, 5m, 1h, 1d)");

    /// <summary>The yes/no in <paramref name="key"/>, or <paramref name="fallback"/> when absent or invalid (reported).</summary>
    public static bool ReadBool(this ConfigSection section, string key, bool fallback)
        => Read(section, key, fallback, TryParseBool, "yes or no");

    private delegate bool Parser<T>(string text, out T value);

    /// <summary>
    /// The one shape of every typed setting: absent gives the fallback; a value that does not parse, or is outside
    /// [<paramref name="min"/>, <paramref name="max"/>] when they are given, is reported ("'x' is not WHAT") and gives
    /// the fallback too, so one bad line never stops the others from being checked.
    /// </summary>
    private static T Read<T>(ConfigSection section, string key, T fallback, Parser<T> parse, string what, T? min = null, T? max = null)
        where T : struct, IComparable<T>
    {
        ArgumentNullException.ThrowIfNull(section);
        ConfigEntry? entry = section.Get(key);
        if (entry is null)
        {
            return fallback;
        }

        if (!parse(entry.Value, out T value))
        {
            section.Error(entry, $"'{entry.Value}' is not {what}");
            return fallback;
        }

        if ((min is { } low && value.CompareTo(low) < 0) || (max is { } high && value.CompareTo(high) > 0))
        {
            section.Error(entry, $"{value} is out of range ({min} to {max})");
            return fallback;
        }

        return value;
    }

    /// <summary>The text in <paramref name="key"/>, or <paramref name="fallback"/> when absent.</summary>
    public static string ReadText(this ConfigSection section, string key, string fallback)
    {
        ArgumentNullException.ThrowIfNull(section);
        return section.Get(key)?.Value ?? fallback;
    }

    /// <summary>
    /// An SMTP reply written as one line, <c>550 5.7.1 Text</c>; reports an invalid one (and one of the wrong class
    /// when <paramref name="transient"/> says which is needed). Returns <paramref name="fallback"/> then.
    /// </summary>
    public static SmtpReply ParseReply(ConfigSection section, ConfigEntry entry, string text, SmtpReply fallback, bool? transient = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(text);
        SmtpReply reply;
        try
        {
            reply = SmtpReply.Parse(text);
        }
        catch (ArgumentException ex)
        {
            section.Error(entry, ex.Message);
            return fallback;
        }

        if (transient is bool t && reply.IsTransient != t)
        {
            section.Error(entry, t ? $"'{text}' must be a 4xx reply (a temporary failure)" : $"'{text}' must be a 5xx reply (a rejection)");
            return fallback;
        }

        return reply;
    }

    /// <summary>The words of every entry with <paramref name="key"/>, joined (for lists that may be split over several lines).</summary>
    public static List<(ConfigEntry Entry, ConfigWord Word)> ReadList(this ConfigSection section, string key)
    {
        ArgumentNullException.ThrowIfNull(section);
        var all = new List<(ConfigEntry, ConfigWord)>();
        foreach (ConfigEntry entry in section.GetAll(key))
        {
            foreach (ConfigWord word in ConfigWords.Split(section, entry))
            {
                all.Add((entry, word));
            }
        }

        return all;
    }
}
