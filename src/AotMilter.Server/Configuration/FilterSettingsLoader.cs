using AotMilter.Configuration;

namespace AotMilter.Server.Configuration;

/// <summary>The outcome of reading the configuration: each chain filter's settings, or every error found.</summary>
public sealed record SettingsLoadResult(IReadOnlyList<object?> Settings, IReadOnlyList<ConfigError> Errors, int SectionCount, int EntryCount)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Turns a <see cref="ConfigFile"/> into settings objects through each filter's generated
/// <see cref="MilterRegistration.ParseSettings"/>. The whole file is checked, not only the sections of the filters
/// that run: an unknown section, a section for a filter without settings, and every error of every section count,
/// so <c>--check-config</c> and a reload reject a file with a mistake anywhere in it.
/// </summary>
public static class FilterSettingsLoader
{
    /// <summary>How the error of a settings parser that threw begins (the exception's message follows).</summary>
    public const string ParserThrewPrefix = "reading the settings failed: ";

    /// <summary>Reads <paramref name="file"/> for the filters of <paramref name="chain"/>, checking it against all <paramref name="known"/> filters.</summary>
    public static SettingsLoadResult Load(ConfigFile file, IReadOnlyList<MilterRegistration> known, IReadOnlyList<MilterRegistration> chain)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(chain);
        var errors = new List<ConfigError>(file.Errors);
        var parsed = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (ConfigSection section in file.Sections)
        {
            MilterRegistration? filter = known.FirstOrDefault(f => string.Equals(f.Name, section.Name, StringComparison.OrdinalIgnoreCase));
            if (filter is null)
            {
                errors.Add(new ConfigError(file.Path, section.Line, $"[{section.Name}]",
                    $"no filter is called '{section.Name}'; this binary has {string.Join(", ", known.Select(f => f.Name))}"));
                continue;
            }

            if (!filter.HasSettings)
            {
                foreach (ConfigEntry entry in section.Entries)
                {
                    errors.Add(new ConfigError(entry.File, entry.Line, $"{filter.Name}.{entry.Key}", $"the {filter.Name} filter takes no settings"));
                }

                continue;
            }

            if (!parsed.ContainsKey(filter.Name))
            {
                parsed[filter.Name] = Parse(filter, section, errors);
            }
        }

        var settings = new object?[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            MilterRegistration filter = chain[i];
            if (!filter.HasSettings)
            {
                continue;
            }

            if (!parsed.TryGetValue(filter.Name, out object? value))
            {
                // A filter that runs without a section gets its defaults; a filter that cannot do without settings says so.
                value = Parse(filter, ConfigSection.Empty(filter.Name), errors, missingIn: file.Path);
                parsed[filter.Name] = value;
            }

            settings[i] = value;
        }

        return new SettingsLoadResult(settings, errors, file.Sections.Count, file.Sections.Sum(s => s.Entries.Count));
    }

    /// <summary>The settings of a chain run without a configuration file: each filter's defaults.</summary>
    public static SettingsLoadResult Defaults(IReadOnlyList<MilterRegistration> chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var errors = new List<ConfigError>();
        var settings = new object?[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            if (chain[i].HasSettings)
            {
                settings[i] = Parse(chain[i], ConfigSection.Empty(chain[i].Name), errors, missingIn: "(no configuration file)");
            }
        }

        return new SettingsLoadResult(settings, errors, 0, 0);
    }

    private static object? Parse(MilterRegistration filter, ConfigSection section, List<ConfigError> errors, string? missingIn = null)
    {
        object? settings;
        try
        {
            settings = filter.ParseSettings(section);
        }
        catch (Exception ex)
        {
            // A settings parser must report problems, not throw; if one does, the file is still rejected, with a reason.
            errors.Add(new ConfigError(section.File, section.Line, $"[{section.Name}]", ParserThrewPrefix + ex.Message));
            return null;
        }

        foreach (ConfigError error in section.Errors)
        {
            errors.Add(missingIn is null ? error : error with { File = missingIn, Message = $"{error.Message} (the filter runs without a [{filter.Name}] section)" });
        }

        return settings;
    }
}
