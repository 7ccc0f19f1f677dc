using System.Text;
using AotMilter.Configuration;

namespace AotMilter.Server.Configuration;

/// <summary>
/// The configuration file, read by hand (no reflection, no serializer). The format, for a mail admin:
/// <code>
/// # A comment is a line whose first non-blank character is '#' or ';'.
/// [policy]
/// # key = value; a key may repeat (rules, lists)
/// sender = reject @spam.example
/// # one double-quoted string: quotes removed, \" \\ \n \t resolved
/// text = "  kept as written"
/// # a multi-line value, up to the closing triple quote, taken as written
/// html = """
/// &lt;p&gt;Confidential&lt;/p&gt;
/// """
/// </code>
/// Everything else in a value is kept as written for the filter to read (rule words, quoted parts, /regexes/):
/// comments exist only as whole lines, so '#' and ';' need no escaping in values.
/// </summary>
public sealed class ConfigFile
{
    private ConfigFile(string path, IReadOnlyList<ConfigSection> sections, IReadOnlyList<ConfigError> errors)
    {
        Path = path;
        Sections = sections;
        Errors = errors;
    }

    /// <summary>The file name used in error messages.</summary>
    public string Path { get; }

    /// <summary>The sections in file order.</summary>
    public IReadOnlyList<ConfigSection> Sections { get; }

    /// <summary>Syntax errors (the file is unusable when there is any).</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    /// <summary>The section called <paramref name="name"/>, or null.</summary>
    public ConfigSection? Find(string name) => Sections.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads and parses a file; a file that cannot be read gives one error.</summary>
    public static ConfigFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return new ConfigFile(path, [], [new ConfigError(path, 0, "file", $"cannot read the configuration file: {ex.Message}")]);
        }

        return Parse(text, path);
    }

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static ConfigFile Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        var errors = new List<ConfigError>();
        var sections = new List<ConfigSection>();
        string? sectionName = null;
        int sectionLine = 0;
        var entries = new List<ConfigEntry>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        void CloseSection()
        {
            if (sectionName is not null)
            {
                sections.Add(new ConfigSection(sectionName, path, sectionLine, entries.ToArray()));
            }

            entries.Clear();
        }

        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            string line = lines[i].Trim();
            if (i == 0 && line.Length > 0 && line[0] == '\uFEFF')
            {
                line = line[1..].TrimStart();
            }

            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                string? name = ParseSectionHeader(line, out string? problem);
                if (name is null)
                {
                    errors.Add(new ConfigError(path, lineNumber, line, problem!));
                    continue;
                }

                CloseSection();
                if (seen.TryGetValue(name, out int first))
                {
                    errors.Add(new ConfigError(path, lineNumber, $"[{name}]", $"section [{name}] appears twice (first at line {first}); put its settings in one place"));
                }
                else
                {
                    seen[name] = lineNumber;
                }

                sectionName = name;
                sectionLine = lineNumber;
                continue;
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                errors.Add(new ConfigError(path, lineNumber, Field(sectionName, line), "expected 'key = value', '[section]' or a comment"));
                continue;
            }

            string key = line[..equals].Trim();
            if (!IsName(key))
            {
                errors.Add(new ConfigError(path, lineNumber, Field(sectionName, key), "a key is made of letters, digits, '-', '_' and '.'"));
                continue;
            }

            string raw = line[(equals + 1)..].Trim();
            string value;
            if (raw.StartsWith("\"\"\"", StringComparison.Ordinal))
            {
                if (!TryReadMultiLine(lines, ref i, equals, out value))
                {
                    errors.Add(new ConfigError(path, lineNumber, Field(sectionName, key), "the \"\"\" opened here is never closed"));

                    // The rest of the file is inside the unclosed value: one error, not one per line.
                    break;
                }
            }
            else if (!TryUnquoteWhole(raw, out value, out string? quoteProblem))
            {
                errors.Add(new ConfigError(path, lineNumber, Field(sectionName, key), quoteProblem!));
                continue;
            }

            if (sectionName is null)
            {
                errors.Add(new ConfigError(path, lineNumber, key, "a setting outside any section; start the file with a [filtername] line"));
                continue;
            }

            entries.Add(new ConfigEntry(key, value, path, lineNumber));
        }

        CloseSection();
        return new ConfigFile(path, sections, errors);
    }

    private static string Field(string? section, string key) => section is null ? key : $"{section}.{key}";

    private static string? ParseSectionHeader(string line, out string? problem)
    {
        int close = line.IndexOf(']', StringComparison.Ordinal);
        if (close < 0)
        {
            problem = "a section header is '[name]'; the ']' is missing";
            return null;
        }

        string rest = line[(close + 1)..].Trim();
        if (rest.Length > 0 && rest[0] is not ('#' or ';'))
        {
            problem = $"unexpected '{rest}' after the section header";
            return null;
        }

        string name = line[1..close].Trim();
        if (!IsName(name))
        {
            problem = $"'{name}' is not a section name (letters, digits, '-', '_')";
            return null;
        }

        problem = null;
        return name;
    }

    private static bool IsName(string s)
    {
        if (s.Length == 0)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A value that is exactly one double-quoted string loses its quotes and has its escapes resolved; any other value
    /// (including <c>"a" "b"</c> and <c>reply="x" more</c>) is kept as written.
    /// </summary>
    private static bool TryUnquoteWhole(string raw, out string value, out string? problem)
    {
        problem = null;
        value = raw;
        if (raw.Length == 0 || raw[0] != '"')
        {
            return true;
        }

        var text = new StringBuilder(raw.Length);
        int i = 1;
        while (i < raw.Length)
        {
            char c = raw[i++];
            if (c == '"')
            {
                if (i == raw.Length)
                {
                    value = text.ToString();
                }

                // Otherwise more follows the first quoted string: keep the value as written, for the filter's word reader.
                return true;
            }

            if (c == '\\' && i < raw.Length)
            {
                char e = raw[i++];
                text.Append(e switch { 'n' => '\n', 't' => '\t', _ => e });
                continue;
            }

            text.Append(c);
        }

        problem = "the quoted value is not closed (a '\"' is missing at the end)";
        return false;
    }

    /// <summary>
    /// Reads a <c>"""</c> value that starts on line <paramref name="i"/>: text after the opening quotes on the same
    /// line, then whole lines, up to the closing <c>"""</c>. A line break right after the opening quotes is not part
    /// of the value; line breaks are "\n". <paramref name="i"/> ends on the closing line.
    /// </summary>
    private static bool TryReadMultiLine(string[] lines, ref int i, int equals, out string value)
    {
        string first = lines[i][(lines[i].IndexOf("\"\"\"", equals, StringComparison.Ordinal) + 3)..];
        int close = first.IndexOf("\"\"\"", StringComparison.Ordinal);
        if (close >= 0)
        {
            value = first[..close];
            return true;
        }

        var text = new StringBuilder();
        bool any = first.Trim().Length > 0;
        if (any)
        {
            text.Append(first);
        }

        for (int j = i + 1; j < lines.Length; j++)
        {
            string line = lines[j];
            close = line.IndexOf("\"\"\"", StringComparison.Ordinal);
            if (any)
            {
                text.Append('\n');
            }

            any = true;
            if (close >= 0)
            {
                text.Append(line.AsSpan(0, close));
                i = j;
                value = text.ToString();

                // The closing quotes on a line of their own end the previous line: no trailing "\n" from that.
                if (line[..close].Trim().Length == 0 && value.EndsWith('\n'))
                {
                    value = value.TrimEnd(' ', '\t')[..^1];
                }

                return true;
            }

            text.Append(line);
        }

        value = "";
        return false;
    }
}
