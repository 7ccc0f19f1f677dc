using System.Text;

namespace AotMilter.Configuration;

/// <summary>
/// Splits a configuration value into words, the way rule-like settings are written:
/// <code>reject sender *@spam.example, @bad.example reply="550 5.7.1 Go away"</code>
/// Words are separated by white space or commas. A double-quoted part keeps spaces and commas and understands the
/// escapes <c>\"</c>, <c>\\</c>, <c>\n</c> and <c>\t</c>; quoted and bare parts written together form one word
/// (<c>reply="a b"</c>). A word that starts with '/' is a regular expression up to the next unescaped '/', followed
/// by flag letters; inside it every backslash is kept for the regex engine, and <c>\/</c> stands for '/'.
/// </summary>
public static class ConfigWords
{
    /// <summary>Splits <paramref name="value"/>; on a syntax error returns false with a message and the words read so far.</summary>
    public static bool TrySplit(string value, out List<ConfigWord> words, out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        words = [];
        error = null;
        int i = 0;
        var text = new StringBuilder();
        while (true)
        {
            while (i < value.Length && IsSeparator(value[i]))
            {
                i++;
            }

            if (i >= value.Length)
            {
                return true;
            }

            if (value[i] == '/')
            {
                if (!TryReadRegex(value, ref i, out ConfigWord regex, out error))
                {
                    return false;
                }

                words.Add(regex);
                continue;
            }

            text.Clear();
            bool startsQuoted = value[i] == '"';
            while (i < value.Length && !IsSeparator(value[i]))
            {
                if (value[i] != '"')
                {
                    text.Append(value[i++]);
                    continue;
                }

                // A quoted part: up to the closing quote, with escapes.
                int open = i++;
                bool closed = false;
                while (i < value.Length)
                {
                    char c = value[i++];
                    if (c == '"')
                    {
                        closed = true;
                        break;
                    }

                    if (c == '\\' && i < value.Length)
                    {
                        char e = value[i++];
                        text.Append(e switch { 'n' => '\n', 't' => '\t', _ => e });
                        continue;
                    }

                    text.Append(c);
                }

                if (!closed)
                {
                    error = $"the quote opened at column {open + 1} is not closed";
                    return false;
                }
            }

            words.Add(new ConfigWord(text.ToString(), startsQuoted ? ConfigWordKind.Quoted : ConfigWordKind.Plain));
        }
    }

    /// <summary>
    /// Splits the entry's value, reporting a syntax error on the entry (through <paramref name="section"/>); returns
    /// the words read (possibly incomplete after an error).
    /// </summary>
    public static List<ConfigWord> Split(ConfigSection section, ConfigEntry entry)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(entry);
        if (!TrySplit(entry.Value, out List<ConfigWord> words, out string? error))
        {
            section.Error(entry, error!);
        }

        return words;
    }

    private static bool IsSeparator(char c) => c is ' ' or '\t' or ',' or '\r' or '\n';

    private static bool TryReadRegex(string value, ref int i, out ConfigWord word, out string? error)
    {
        int open = i++;
        var pattern = new StringBuilder();
        while (i < value.Length && value[i] != '/')
        {
            if (value[i] == '\\' && i + 1 < value.Length && value[i + 1] == '/')
            {
                pattern.Append('/');
                i += 2;
                continue;
            }

            if (value[i] == '\\' && i + 1 < value.Length)
            {
                // Keep the escape for the regex engine (\d, \., \\ ...), and do not let "\\/" end early.
                pattern.Append(value[i]).Append(value[i + 1]);
                i += 2;
                continue;
            }

            pattern.Append(value[i++]);
        }

        if (i >= value.Length)
        {
            word = default;
            error = $"the regular expression that starts at column {open + 1} has no closing '/'";
            return false;
        }

        i++;
        int flagsStart = i;
        while (i < value.Length && !IsSeparator(value[i]))
        {
            i++;
        }

        string flags = value[flagsStart..i];
        foreach (char f in flags)
        {
            if (f is not ('i' or 'm' or 's' or 'x'))
            {
                word = default;
                error = $"'{flags}' after /{pattern}/ is not a set of regex flags (i, m, s, x)";
                return false;
            }
        }

        word = new ConfigWord(pattern.ToString(), ConfigWordKind.Regex, flags);
        error = null;
        return true;
    }
}
