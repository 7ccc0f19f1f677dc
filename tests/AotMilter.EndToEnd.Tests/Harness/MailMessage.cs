using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>A header field: its name and its value (unfolded, surrounding white space trimmed).</summary>
public sealed record HeaderField(string Name, string Value)
{
    public override string ToString() => $"{Name}: {Value}";
}

/// <summary>A message split into header fields and body bytes (RFC 5322, CRLF or LF line endings).</summary>
public sealed class MailMessage
{
    private MailMessage(IReadOnlyList<HeaderField> headers, byte[] body)
    {
        Headers = headers;
        Body = body;
    }

    public IReadOnlyList<HeaderField> Headers { get; }

    /// <summary>Everything after the empty line that ends the header section.</summary>
    public byte[] Body { get; }

    public static MailMessage Parse(byte[] data)
    {
        var headers = new List<(string Name, StringBuilder Value)>();
        var position = 0;
        while (position < data.Length)
        {
            var end = Array.IndexOf(data, (byte)'\n', position);
            var next = end < 0 ? data.Length : end + 1;
            var line = Encoding.UTF8.GetString(data, position, next - position).TrimEnd('\r', '\n');
            position = next;
            if (line.Length == 0)
            {
                break;
            }

            if (line[0] is ' ' or '\t' && headers.Count > 0)
            {
                headers[^1].Value.Append(' ').Append(line.Trim());
                continue;
            }

            var colon = line.IndexOf(':');
            headers.Add(colon < 0 ? (line, new StringBuilder()) : (line[..colon], new StringBuilder(line[(colon + 1)..].Trim())));
        }

        return new MailMessage([.. headers.Select(h => new HeaderField(h.Name, h.Value.ToString()))], data[position..]);
    }

    /// <summary>Values of all fields named <paramref name="name"/> (case-insensitive), in order.</summary>
    public IReadOnlyList<string> Values(string name) =>
        [.. Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    /// <summary>The header section as text, for failure messages.</summary>
    public string HeaderText => string.Join('\n', Headers);
}
