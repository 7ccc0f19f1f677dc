using System.Text.Json;
using System.Text.Json.Serialization;

namespace AotMilter.Filters.Rspamd;

/// <summary>The fields of rspamd's <c>/checkv2</c> reply the filter acts on (symbols and timings are skipped).</summary>
public sealed class RspamdReply
{
    /// <summary><c>no action</c>, <c>greylist</c>, <c>add header</c>, <c>rewrite subject</c>, <c>soft reject</c>, <c>reject</c> (or <c>discard</c>, <c>quarantine</c>).</summary>
    [JsonPropertyName("action")]
    public string? Action { get; set; }

    [JsonPropertyName("score")]
    public double Score { get; set; }

    [JsonPropertyName("required_score")]
    public double RequiredScore { get; set; }

    /// <summary>The new Subject for <c>rewrite subject</c>.</summary>
    [JsonPropertyName("subject")]
    public string? Subject { get; set; }

    /// <summary>Messages for the SMTP reply (<c>smtp_message</c>), as rspamd's rules set them.</summary>
    [JsonPropertyName("messages")]
    public Dictionary<string, JsonElement>? Messages { get; set; }

    /// <summary>Header edits rspamd asks of the MTA (its milter_headers module, or rules that set a milter reply).</summary>
    [JsonPropertyName("milter")]
    public RspamdMilterBlock? Milter { get; set; }

    /// <summary>The <c>smtp_message</c> rspamd gave, or null.</summary>
    public string? SmtpMessage => Messages is not null && Messages.TryGetValue("smtp_message", out JsonElement text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
}

/// <summary>
/// The reply's <c>milter</c> block. <c>add_headers</c>: name → a value, <c>{"value": V, "order": N}</c>, or an array
/// of those (order below 0, or none: added at the end; otherwise inserted at that position).
/// <c>remove_headers</c>: name → 0 (every field of that name), N (the N-th), -N (the N-th from the end).
/// </summary>
public sealed class RspamdMilterBlock
{
    [JsonPropertyName("add_headers")]
    public Dictionary<string, JsonElement>? AddHeaders { get; set; }

    [JsonPropertyName("remove_headers")]
    public Dictionary<string, int>? RemoveHeaders { get; set; }
}

/// <summary>Source-generated (no reflection: the daemon is Native AOT) reader of <see cref="RspamdReply"/>.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata, NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(RspamdReply))]
internal sealed partial class RspamdJson : JsonSerializerContext;
