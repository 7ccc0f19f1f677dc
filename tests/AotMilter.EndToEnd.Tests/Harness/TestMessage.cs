using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>A header field: its name and its value (unfolded, surrounding white space trimmed).</summary>
public sealed record HeaderField(string Name, string Value)
{
    public override string ToString() => $"{Name}: {Value}";
}

/// <summary>
/// A message a test sends: header fields (From, To, Subject, Date and a unique Message-ID unless given) and a body,
/// serialised with CRLF line endings. <see cref="Token"/> identifies it in the sink.
/// </summary>
public sealed class TestMessage
{
    private TestMessage(IReadOnlyList<HeaderField> headers, byte[] body, string token)
    {
        Headers = headers;
        Body = body;
        Token = token;
        using var bytes = new MemoryStream();
        foreach (var header in headers)
        {
            bytes.Write(Encoding.UTF8.GetBytes($"{header.Name}: {header.Value}\r\n"));
        }

        bytes.Write("\r\n"u8);
        bytes.Write(body);
        Bytes = bytes.ToArray();
    }

    public IReadOnlyList<HeaderField> Headers { get; }

    /// <summary>The body as sent (CRLF line endings, ending with CRLF).</summary>
    public byte[] Body { get; }

    /// <summary>Header section, empty line and body.</summary>
    public byte[] Bytes { get; }

    /// <summary>Unique per message; part of the Message-ID.</summary>
    public string Token { get; }

    public string MessageId => $"<{Token}@aotmilter.test>";

    public static TestMessage Create(
        string from = "sender@example.org",
        string to = "rcpt@example.com",
        string subject = "end-to-end test",
        string? body = null,
        params HeaderField[] extraHeaders) =>
        Create(from, to, subject, Encoding.UTF8.GetBytes(ToCrlf(body ?? "Hello from the end-to-end tests.\n")), extraHeaders);

    public static TestMessage Create(string from, string to, string subject, byte[] body, params HeaderField[] extraHeaders)
    {
        var token = $"e2e-{Guid.NewGuid():N}";
        List<HeaderField> headers =
        [
            new("From", $"<{from}>"),
            new("To", $"<{to}>"),
            new("Subject", subject),
            new("Date", DateTimeOffset.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture)),
            new("Message-ID", $"<{token}@aotmilter.test>"),
            .. extraHeaders,
        ];
        return new TestMessage(headers, body, token);
    }

    /// <summary>True if <paramref name="message"/> in the sink is this message (same Message-ID).</summary>
    public bool Matches(SinkMessage message) =>
        message.Parsed.HeaderValues("Message-ID").Any(v => v.Contains(Token, StringComparison.Ordinal));

    public static string ToCrlf(string text)
    {
        var normalised = text.Replace("\r\n", "\n").Replace("\n", "\r\n");
        return normalised.EndsWith("\r\n", StringComparison.Ordinal) ? normalised : normalised + "\r\n";
    }
}
