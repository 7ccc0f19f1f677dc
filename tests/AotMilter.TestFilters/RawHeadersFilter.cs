namespace AotMilter.TestFilters;

/// <summary>
/// Negotiates header values as the MTA has them, with the space after the colon (<c>RawHeaderValues</c>, protocol
/// flag HeaderLeadingSpace), and rejects a message in which a value came without it: a client that strips that space
/// although the flag was agreed is caught by the verdict.
/// </summary>
[Milter("test-raw-headers", Description = "Test filter: wants header values with their leading space; rejects a message where one lacks it", RawHeaderValues = true)]
public sealed class RawHeadersFilter
{
    private int _withoutSpace;

    [OnMailFrom]
    public void MailFrom() => _withoutSpace = 0;

    [OnHeader]
    public void Header(HeaderField header)
    {
        if (header.Value.Length == 0 || header.Value[0] != (byte)' ')
        {
            _withoutSpace++;
        }
    }

    [OnEndOfMessage]
    public Verdict EndOfMessage() => _withoutSpace == 0 ? Verdict.Accept : Verdict.Reject;
}
