namespace AotMilter.Configuration;

/// <summary>How a word of a configuration value was written.</summary>
public enum ConfigWordKind
{
    /// <summary>Bare text: <c>example.com</c>, <c>reject</c>, <c>reply="550 5.7.1 No"</c> (an option whose value is quoted).</summary>
    Plain,

    /// <summary>A word that starts with a quote: <c>"two words"</c>. Always a literal, never a keyword or an option.</summary>
    Quoted,

    /// <summary>A regular expression between slashes, with optional flags: <c>/viagra|cialis/i</c>.</summary>
    Regex,
}

/// <summary>
/// One word of a configuration value, as <see cref="ConfigWords.Split"/> reads it: quotes removed and escapes resolved
/// (<see cref="Text"/>), or for a regular expression its pattern and flags.
/// </summary>
public readonly record struct ConfigWord(string Text, ConfigWordKind Kind, string Flags = "")
{
    /// <summary>
    /// True when the word is the option <paramref name="name"/>=value (only for <see cref="ConfigWordKind.Plain"/> words,
    /// so a quoted literal that happens to contain '=' is never taken for an option).
    /// </summary>
    public bool IsOption(string name, out string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Kind == ConfigWordKind.Plain
            && Text.Length > name.Length
            && Text[name.Length] == '='
            && Text.StartsWith(name, StringComparison.OrdinalIgnoreCase))
        {
            value = Text[(name.Length + 1)..];
            return true;
        }

        value = "";
        return false;
    }

    /// <summary>True for a plain word equal to <paramref name="keyword"/>, ignoring case.</summary>
    public bool Is(string keyword) => Kind == ConfigWordKind.Plain && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Kind switch
    {
        ConfigWordKind.Quoted => $"\"{Text}\"",
        ConfigWordKind.Regex => $"/{Text}/{Flags}",
        _ => Text,
    };
}
