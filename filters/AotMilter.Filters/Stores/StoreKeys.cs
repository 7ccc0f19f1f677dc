namespace AotMilter.Filters.Stores;

/// <summary>
/// How the stores spell an address in a key, for the rate limiter and greylisting alike: one key per mailbox whatever
/// way the MTA lets it be written (case folded, the domain without the trailing dots of an absolute name, so
/// "a@Example.COM." is "a@example.com"), and one key shared by every value longer than SMTP allows an address to be,
/// so that a peer cannot fill a store with megabyte-long keys.
/// </summary>
internal static class StoreKeys
{
    /// <summary>The longest value with a key of its own. RFC 5321: a local part of 64 and a domain of 255 octets.</summary>
    public const int MaxValueLength = 320;

    /// <summary>The key of every value longer than <see cref="MaxValueLength"/>.</summary>
    public const string OverLong = "(over-long)";

    /// <summary>The address without the trailing dots of its domain.</summary>
    public static ReadOnlySpan<char> TrimDomainDots(ReadOnlySpan<char> address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? address : address[..(at + 1 + address[(at + 1)..].TrimEnd('.').Length)];
    }

    /// <summary>The address's key: trimmed and folded, or <see cref="OverLong"/>.</summary>
    public static string Address(string address)
    {
        ReadOnlySpan<char> trimmed = TrimDomainDots(address);
        return trimmed.Length > MaxValueLength ? OverLong : trimmed.ToString().ToLowerInvariant();
    }
}
