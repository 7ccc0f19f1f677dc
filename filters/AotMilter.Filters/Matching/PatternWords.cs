using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// Pattern lists in settings may name a file, <c>file:/etc/aotmilter/blocked-senders</c>, holding one pattern per
/// line (blank lines and lines starting with '#' are skipped). The file is read with the configuration, so a
/// reload (SIGHUP) picks up its changes. A relative path is taken from the configuration file's folder.
/// </summary>
public static class PatternWords
{
    public static List<ConfigWord> Expand(ConfigSection section, ConfigEntry entry, IEnumerable<ConfigWord> words)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(words);
        var result = new List<ConfigWord>();
        foreach (ConfigWord word in words)
        {
            if (!word.IsOption("file", out _) && !(word.Kind == ConfigWordKind.Plain && word.Text.StartsWith("file:", StringComparison.OrdinalIgnoreCase)))
            {
                result.Add(word);
                continue;
            }

            string path = ResolvePath(entry, word.Text[5..]);
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                section.Error(entry, $"cannot read the pattern file {path}: {ex.Message}");
                continue;
            }

            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                if (!ConfigWords.TrySplit(line, out List<ConfigWord> inFile, out string? error))
                {
                    section.Error(entry, $"{path}:{i + 1}: {error}");
                    continue;
                }

                result.AddRange(inFile);
            }
        }

        return result;
    }

    /// <summary>A path from a setting, relative to the configuration file's folder unless absolute.</summary>
    public static string ResolvePath(ConfigEntry entry, string path)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(path);
        if (Path.IsPathRooted(path))
        {
            return path;
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(entry.File));
        return folder is null ? path : Path.Combine(folder, path);
    }
}
