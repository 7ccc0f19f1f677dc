using System.Text.RegularExpressions;
using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// An envelope address pattern, ignoring case:
/// <list type="bullet">
/// <item><c>user@example.com</c>: that address; wildcards allowed (<c>*@spam.*</c>, <c>bounce-*@example.org</c>).</item>
/// <item><c>@example.com</c>: every address at that domain (the same as <c>*@example.com</c>).</item>
/// <item><c>example.com</c>: every address at that domain; <c>*.example.com</c>: at its subdomains.</item>
/// <item><c>&lt;&gt;</c>: the null sender (bounces).</item>
/// <item><c>/regex/</c>: a regular expression on the whole address.</item>
/// </list>
/// </summary>
public sealed class AddressPattern
{
    private readonly string _glob;
    private readonly bool _domainOnly;
    private readonly bool _nullSender;
    private readonly Regex? _regex;

    private AddressPattern(string glob, bool domainOnly, bool nullSender, Regex? regex)
    {
        _glob = glob;
        _domainOnly = domainOnly;
        _nullSender = nullSender;
        _regex = regex;
    }

    public static bool TryCreate(ConfigWord word, out AddressPattern? pattern, out string? error)
    {
        error = null;
        if (word.Kind == ConfigWordKind.Regex)
        {
            bool ok = SafeRegex.TryCreate(word, out Regex? regex, out error);
            pattern = ok ? new AddressPattern("", false, false, regex) : null;
            return ok;
        }

        string text = word.Text.Trim();
        if (text is "<>")
        {
            pattern = new AddressPattern("", false, true, null);
            return true;
        }

        if (text.Length >= 2 && text[0] == '<' && text[^1] == '>')
        {
            text = text[1..^1];
        }

        if (text.Length == 0 || text.AsSpan().IndexOfAny(' ', '<', '>') >= 0)
        {
            pattern = null;
            error = $"'{word.Text}' is not an address, @domain, domain or /regex/";
            return false;
        }

        if (text[0] == '@')
        {
            pattern = new AddressPattern("*" + text, false, false, null);
            return true;
        }

        pattern = new AddressPattern(text, domainOnly: !text.Contains('@', StringComparison.Ordinal), false, null);
        return true;
    }

    /// <summary>True when <paramref name="address"/> (without angle brackets; empty for the null sender) matches.</summary>
    public bool IsMatch(ReadOnlySpan<char> address)
    {
        if (_nullSender)
        {
            return address.IsEmpty;
        }

        if (_regex is not null)
        {
            return _regex.IsMatch(address);
        }

        if (address.IsEmpty)
        {
            return false;
        }

        if (_domainOnly)
        {
            int at = address.LastIndexOf('@');
            return at >= 0 && Glob.IsMatch(_glob, address[(at + 1)..]);
        }

        return Glob.IsMatch(_glob, address);
    }

    public override string ToString() => _nullSender ? "<>" : _regex is not null ? $"/{_regex}/" : _glob;
}
