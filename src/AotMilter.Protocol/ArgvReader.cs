namespace AotMilter.Protocol;

/// <summary>
/// Enumerates an "argv" payload: consecutive NUL-terminated strings filling the rest of a packet
/// (MAIL and RCPT: the address, then one string per ESMTP argument). The payload is expected to be checked already
/// (<see cref="EnvelopeCommand.Parse"/>); an unterminated last string still raises a protocol error here.
/// </summary>
public ref struct ArgvReader
{
    private ReadOnlySpan<byte> _remaining;

    public ArgvReader(ReadOnlySpan<byte> payload)
    {
        _remaining = payload;
        Current = default;
    }

    public ReadOnlySpan<byte> Current { get; private set; }

    public readonly ArgvReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining.IsEmpty)
        {
            return false;
        }

        Current = NulString.Read(ref _remaining, "argument");
        return true;
    }
}
