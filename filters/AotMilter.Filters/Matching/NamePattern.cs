using System.Text.RegularExpressions;
using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// A whole name matched by a wildcard pattern (<c>*.example.net</c>, <c>localhost</c>, ignoring case) or a
/// /regular expression/ (which may match anywhere unless anchored). Used for HELO names, host names, header names
/// and login names.
/// </summary>
public sealed class NamePattern
{
    private readonly string _glob;
    private readonly Regex? _regex;

    private NamePattern(string glob, Regex? regex)
    {
        _glob = glob;
        _regex = regex;
    }

    public static bool TryCreate(ConfigWord word, out NamePattern? pattern, out string? error)
    {
        if (word.Kind == ConfigWordKind.Regex)
        {
            bool ok = SafeRegex.TryCreate(word, out Regex? regex, out error);
            pattern = ok ? new NamePattern("", regex) : null;
            return ok;
        }

        error = null;
        pattern = new NamePattern(word.Text, null);
        return true;
    }

    public bool IsMatch(ReadOnlySpan<char> name) => _regex is not null ? _regex.IsMatch(name) : Glob.IsMatch(_glob, name);

    public override string ToString() => _regex is not null ? $"/{_regex}/" : _glob;
}
