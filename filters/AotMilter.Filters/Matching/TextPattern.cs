using System.Text.RegularExpressions;
using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// What a content rule looks for in a text: a literal (found anywhere, ignoring case), a /regular expression/, or
/// <c>*</c> (anything, for "the header exists").
/// </summary>
public sealed class TextPattern
{
    private readonly string _literal;
    private readonly Regex? _regex;
    private readonly bool _any;

    private TextPattern(string literal, Regex? regex, bool any)
    {
        _literal = literal;
        _regex = regex;
        _any = any;
    }

    /// <summary><c>*</c>: matches any text.</summary>
    public static TextPattern Anything { get; } = new("*", null, any: true);

    public static bool TryCreate(ConfigWord word, out TextPattern? pattern, out string? error)
    {
        if (word.Kind == ConfigWordKind.Regex)
        {
            if (!SafeRegex.TryCreate(word, out Regex? regex, out error))
            {
                pattern = null;
                return false;
            }

            pattern = new TextPattern("", regex, any: false);
            return true;
        }

        error = null;
        if (word.Text.Length == 0)
        {
            pattern = null;
            error = "an empty text matches everything; write * for that";
            return false;
        }

        pattern = new TextPattern(word.Text, null, any: word.Kind == ConfigWordKind.Plain && word.Text == "*");
        return true;
    }

    public bool IsMatch(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_any)
        {
            return true;
        }

        return _regex is not null ? _regex.IsMatch(text) : text.Contains(_literal, StringComparison.OrdinalIgnoreCase);
    }

    public override string ToString() => _any ? "*" : _regex is not null ? $"/{_regex}/" : $"\"{_literal}\"";
}
