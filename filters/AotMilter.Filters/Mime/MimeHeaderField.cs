namespace AotMilter.Filters.Mime;

/// <summary>
/// One header field of a MIME part: its name, its value unfolded (each byte as one char, Latin-1, so 8-bit bytes
/// survive and ASCII parses as usual), and where its raw bytes lie in the message body, line ending(s) included.
/// </summary>
public readonly record struct MimeHeaderField(string Name, string Value, int Start, int End)
{
    public bool NameIs(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);
}
