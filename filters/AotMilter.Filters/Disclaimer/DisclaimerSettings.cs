using System.Net;
using AotMilter.Configuration;
using AotMilter.Filters.Matching;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Disclaimer;

/// <summary>
/// Which mail gets the disclaimer and what it says:
/// <code>
/// [disclaimer]
/// senders = example.com, @example.org, ceo@example.net
/// authenticated = yes
/// text = """
/// --
/// This message is confidential. If you received it in error, please delete it.
/// """
/// html = "&lt;p style=\"color:#888\"&gt;This message is confidential.&lt;/p&gt;"
/// max-message-size = 10M
/// max-mime-parts = 500
/// </code>
/// A message is disclaimed when its envelope sender matches <c>senders</c>, or its SMTP AUTH login matches
/// <c>auth-users</c>, or (with <c>authenticated = yes</c>) the client logged in at all. Without <c>html</c>, HTML
/// parts get the text, escaped, in a paragraph. A body larger than <c>max-message-size</c>, or whose MIME structure
/// goes beyond <see cref="MimeLimits"/> (<c>max-mime-parts</c>, <c>max-part-header-fields</c>,
/// <c>max-part-header-size</c>), passes unchanged, and that is logged.
/// </summary>
public sealed class DisclaimerSettings : IFilterSettings<DisclaimerSettings>
{
    public const string DefaultMarkerHeader = "X-AotMilter-Disclaimer";

    private static readonly string[] Keys = ["senders", "auth-users", "authenticated", "text", "text-file", "html", "html-file", "max-message-size", "marker-header", .. MimeLimits.Keys];

    /// <summary>Nothing selected: the filter passes every message through.</summary>
    public static DisclaimerSettings Default { get; } = new();

    public IReadOnlyList<AddressPattern> Senders { get; init; } = [];

    public IReadOnlyList<NamePattern> AuthUsers { get; init; } = [];

    public bool AnyAuthenticated { get; init; }

    public string Text { get; init; } = "";

    public string Html { get; init; } = "";

    /// <summary>Messages larger than this are passed through without a disclaimer (and logged).</summary>
    public long MaxMessageSize { get; init; } = 10L << 20;

    /// <summary>How much MIME structure a message may have to be disclaimed.</summary>
    public MimeLimits Limits { get; init; } = MimeLimits.Default;

    /// <summary>Added to every disclaimed message; a message that has it already is not disclaimed again.</summary>
    public string MarkerHeader { get; init; } = DefaultMarkerHeader;

    public DisclaimerRewriter Rewriter { get; init; } = new("", "");

    /// <summary>True when the settings select any mail at all.</summary>
    public bool IsActive => Text.Length > 0 && (Senders.Count > 0 || AuthUsers.Count > 0 || AnyAuthenticated);

    /// <summary>Whether a message from <paramref name="sender"/>, logged in as <paramref name="authUser"/> (or null), gets the disclaimer.</summary>
    public bool Selects(string sender, string? authUser)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (!IsActive)
        {
            return false;
        }

        if (authUser is not null && (AnyAuthenticated || AuthUsers.Any(p => p.IsMatch(authUser))))
        {
            return true;
        }

        return Senders.Any(p => p.IsMatch(sender));
    }

    public static DisclaimerSettings Parse(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.CheckKeys(Keys);
        List<AddressPattern> senders = PatternLists.ReadAddresses(section, "senders");
        List<NamePattern> authUsers = PatternLists.ReadNames(section, "auth-users");

        bool anyAuthenticated = section.ReadBool("authenticated", false);
        string text = ReadTextOrFile(section, "text", "text-file");
        string html = ReadTextOrFile(section, "html", "html-file");
        if (text.Trim().Length == 0)
        {
            section.Error("text", "the disclaimer needs its text: text = \"...\" or text-file = PATH");
        }

        if (senders.Count == 0 && authUsers.Count == 0 && !anyAuthenticated)
        {
            section.Error("senders", "no mail is selected: give senders = DOMAINS/ADDRESSES, auth-users = LOGINS or authenticated = yes");
        }

        string marker = section.ReadText("marker-header", DefaultMarkerHeader).Trim();
        if (marker.Length == 0 || marker.Any(c => c <= ' ' || c == ':' || c >= 127))
        {
            section.Error(section.Get("marker-header")!, $"'{marker}' is not a header name");
            marker = DefaultMarkerHeader;
        }

        if (html.Trim().Length == 0)
        {
            html = TextToHtml(text);
        }

        return new DisclaimerSettings
        {
            Senders = senders,
            AuthUsers = authUsers,
            AnyAuthenticated = anyAuthenticated,
            Text = text,
            Html = html,
            MaxMessageSize = section.ReadSize("max-message-size", 10L << 20, 1024, 1L << 30),
            Limits = MimeLimits.Read(section),
            MarkerHeader = marker,
            Rewriter = new DisclaimerRewriter(text, html),
        };
    }

    /// <summary>The text as one HTML paragraph: escaped, lines separated by &lt;br&gt;.</summary>
    public static string TextToHtml(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        IEnumerable<string?> lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\n').Split('\n').Select(WebUtility.HtmlEncode);
        return "<div class=\"disclaimer\"><p>" + string.Join("<br>\n", lines) + "</p></div>";
    }

    private static string ReadTextOrFile(ConfigSection section, string key, string fileKey)
    {
        ConfigEntry? inline = section.Get(key);
        ConfigEntry? file = section.Get(fileKey);
        if (inline is not null && file is not null)
        {
            section.Error(file, $"give either {key} or {fileKey}, not both");
        }

        if (file is null)
        {
            return inline?.Value ?? "";
        }

        string path = PatternWords.ResolvePath(file, file.Value.Trim());
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            section.Error(file, $"cannot read {path}: {ex.Message}");
            return "";
        }
    }
}
