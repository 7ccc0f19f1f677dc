namespace AotMilter.Configuration;

/// <summary>
/// A filter's section of the configuration file: its entries in file order, and the errors found while reading them.
/// A filter with no section in the file gets an empty one, so its settings parser supplies the defaults.
/// </summary>
public sealed class ConfigSection
{
    private readonly List<ConfigError> _errors = [];

    public ConfigSection(string name, string file, int line, IReadOnlyList<ConfigEntry> entries)
    {
        Name = name;
        File = file;
        Line = line;
        Entries = entries;
    }

    /// <summary>The section's name (the filter's name).</summary>
    public string Name { get; }

    public string File { get; }

    /// <summary>The line of the section header, or 0 for an empty section that is not in the file.</summary>
    public int Line { get; }

    public IReadOnlyList<ConfigEntry> Entries { get; }

    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>An empty section for a filter the file does not mention.</summary>
    public static ConfigSection Empty(string name) => new(name, "(defaults)", 0, []);

    /// <summary>The last entry with this key, or null.</summary>
    public ConfigEntry? Get(string key)
    {
        for (int i = Entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(Entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return Entries[i];
            }
        }

        return null;
    }

    /// <summary>Every entry with this key, in file order (for repeatable keys such as rules).</summary>
    public IEnumerable<ConfigEntry> GetAll(string key)
        => Entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>Records an error about an entry.</summary>
    public void Error(ConfigEntry entry, string message)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _errors.Add(new ConfigError(entry.File, entry.Line, $"{Name}.{entry.Key}", message));
    }

    /// <summary>Records an error about the section as a whole (a missing required key, say).</summary>
    public void Error(string field, string message) => _errors.Add(new ConfigError(File, Line, $"{Name}.{field}", message));
}
