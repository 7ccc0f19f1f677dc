namespace AotMilter.Mta;

/// <summary>
/// An envelope address with its ESMTP parameters, as on a MAIL FROM or RCPT TO line: <see cref="Address"/> without
/// angle brackets ("" for the null sender), <see cref="Parameters"/> such as "SIZE=1234" or "NOTIFY=NEVER".
/// </summary>
public sealed record SmtpAddress(string Address, IReadOnlyList<string> Parameters)
{
    public SmtpAddress(string address)
        : this(address, [])
    {
    }

    /// <summary>The address as written on the SMTP line and sent to the milter: in angle brackets.</summary>
    public string Path => $"<{Address}>";

    /// <summary>Parses "a@example.org", "&lt;a@example.org&gt;" or "&lt;a@example.org&gt; NOTIFY=NEVER ORCPT=rfc822;a@example.org".</summary>
    public static SmtpAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] words = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return new SmtpAddress("");
        }

        return new SmtpAddress(Strip(words[0]), words[1..]);
    }

    /// <summary>The value of parameter <paramref name="name"/> ("NOTIFY"), or null.</summary>
    public string? Parameter(string name)
    {
        foreach (string parameter in Parameters)
        {
            int equals = parameter.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? parameter : parameter[..equals];
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return equals < 0 ? "" : parameter[(equals + 1)..];
            }
        }

        return null;
    }

    /// <summary>True when the addresses are equal (ASCII case ignored, angle brackets ignored).</summary>
    public bool Is(string address) => string.Equals(Address, Strip(address), StringComparison.OrdinalIgnoreCase);

    public bool Equals(SmtpAddress? other) =>
        other is not null && Address == other.Address && Parameters.SequenceEqual(other.Parameters);

    public override int GetHashCode() => Address.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Parameters.Count == 0 ? Path : $"{Path} {string.Join(' ', Parameters)}";

    internal static string Strip(string address)
    {
        string a = address.Trim();
        return a.Length >= 2 && a[0] == '<' && a[^1] == '>' ? a[1..^1] : a;
    }
}

/// <summary>The envelope of a message: the sender and the recipients, each with ESMTP parameters.</summary>
public sealed record Envelope(SmtpAddress Sender, IReadOnlyList<SmtpAddress> Recipients)
{
    /// <summary>An envelope from addresses written as on the SMTP line ("a@example.org NOTIFY=NEVER").</summary>
    public static Envelope Of(string sender, params string[] recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        return new Envelope(SmtpAddress.Parse(sender), [.. recipients.Select(SmtpAddress.Parse)]);
    }

    public bool Equals(Envelope? other) =>
        other is not null && Sender.Equals(other.Sender) && Recipients.SequenceEqual(other.Recipients);

    public override int GetHashCode() => Sender.GetHashCode();

    public override string ToString() => $"MAIL FROM:{Sender} RCPT TO:{string.Join(", ", Recipients)}";
}
