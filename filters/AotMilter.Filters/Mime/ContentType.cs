using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>
/// A parsed Content-Type (or Content-Disposition) value: <c>type/subtype; name=value; name="quoted value"</c>.
/// Lenient as mail must be: comments in parentheses are dropped, spaces around '=' are allowed, an unquoted value
/// runs to the next ';' (real boundaries contain '=' and other specials unquoted), and a missing or unreadable type is
/// text/plain (RFC 2045's default).
/// </summary>
public sealed class ContentType
{
    private readonly Dictionary<string, string> _parameters;

    private ContentType(string type, string subtype, Dictionary<string, string> parameters)
    {
        Type = type;
        Subtype = subtype;
        _parameters = parameters;
    }

    /// <summary>RFC 2045's default for a part without Content-Type.</summary>
    public static ContentType Default { get; } = new("text", "plain", new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>The default in a multipart/digest, whose parts are messages.</summary>
    public static ContentType DigestDefault { get; } = new("message", "rfc822", new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>Lower case: "text", "multipart", ...</summary>
    public string Type { get; }

    /// <summary>Lower case: "plain", "alternative", ...</summary>
    public string Subtype { get; }

    public string MediaType => $"{Type}/{Subtype}";

    public bool IsMultipart => Type == "multipart";

    public bool Is(string type, string subtype) => Type == type && Subtype == subtype;

    public string? this[string parameter] => _parameters.TryGetValue(parameter, out string? v) ? v : null;

    public string? Boundary => this["boundary"];

    public string? Charset => this["charset"]?.Trim().Trim('"', '\'');

    /// <summary>Parses a Content-Type value; null or garbage gives <see cref="Default"/>.</summary>
    public static ContentType Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Default;
        }

        string text = StripComments(value);
        int semicolon = IndexOfUnquoted(text, ';', 0);
        string media = (semicolon < 0 ? text : text[..semicolon]).Trim();
        int slash = media.IndexOf('/', StringComparison.Ordinal);
        Dictionary<string, string> parameters = ParseParameters(text, semicolon);
        if (slash <= 0 || slash == media.Length - 1)
        {
            // "text" alone or garbage: RFC 2045 says treat an unreadable type as text/plain; keep the parameters (charset).
            return new ContentType("text", "plain", parameters);
        }

        return new ContentType(media[..slash].Trim().ToLowerInvariant(), media[(slash + 1)..].Trim().ToLowerInvariant(), parameters);
    }

    /// <summary>The first word of a Content-Disposition value ("inline", "attachment") and its parameters.</summary>
    public static (string Kind, string? FileName) ParseDisposition(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return ("", null);
        }

        string text = StripComments(value);
        int semicolon = IndexOfUnquoted(text, ';', 0);
        Dictionary<string, string> parameters = ParseParameters(text, semicolon);
        string kind = (semicolon < 0 ? text : text[..semicolon]).Trim().ToLowerInvariant();
        return (kind, parameters.TryGetValue("filename", out string? f) ? f : parameters.TryGetValue("filename*", out f) ? f : parameters.TryGetValue("filename*0", out f) ? f : parameters.TryGetValue("filename*0*", out f) ? f : null);
    }

    public override string ToString() => MediaType;

    private static Dictionary<string, string> ParseParameters(string text, int semicolon)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int pos = semicolon;
        while (pos >= 0 && pos < text.Length)
        {
            int next = IndexOfUnquoted(text, ';', pos + 1);
            string item = (next < 0 ? text[(pos + 1)..] : text[(pos + 1)..next]).Trim();
            pos = next;
            int equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            string name = item[..equals].Trim().ToLowerInvariant();
            string raw = item[(equals + 1)..].Trim();
            string value = raw.Length >= 1 && raw[0] == '"' ? Unquote(raw) : raw;

            // The first occurrence wins, as in most readers.
            parameters.TryAdd(name, value);
        }

        return parameters;
    }

    private static string Unquote(string raw)
    {
        var value = new StringBuilder(raw.Length);
        for (int i = 1; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '"')
            {
                break;
            }

            if (c == '\\' && i + 1 < raw.Length)
            {
                c = raw[++i];
            }

            value.Append(c);
        }

        return value.ToString();
    }

    private static int IndexOfUnquoted(string text, char wanted, int from)
    {
        bool quoted = false;
        for (int i = from; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && quoted)
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == wanted && !quoted)
            {
                return i;
            }
        }

        return -1;
    }

    private static string StripComments(string value)
    {
        if (!value.Contains('(', StringComparison.Ordinal))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        int depth = 0;
        bool quoted = false;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quoted)
            {
                text.Append(c);
                if (c == '\\' && i + 1 < value.Length)
                {
                    text.Append(value[++i]);
                }
                else if (c == '"')
                {
                    quoted = false;
                }
            }
            else if (c == '(')
            {
                depth++;
            }
            else if (c == ')' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                quoted = c == '"';
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
