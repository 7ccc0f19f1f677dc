using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// A MAIL FROM or RCPT TO address with its ESMTP arguments. Spans point into the receive buffer: valid during the call.
/// </summary>
public readonly ref struct EnvelopeAddress
{
    private readonly ReadOnlySpan<byte> _arguments;

    public EnvelopeAddress(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> arguments)
    {
        Raw = raw;
        _arguments = arguments;
    }

    /// <summary>The address as written on the SMTP line, normally with angle brackets.</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>
    /// The address without surrounding angle brackets (empty for the null sender): <c>Address.Bytes</c> without
    /// allocating, <c>Address.ToString()</c> as a string.
    /// </summary>
    public Utf8Address Address
    {
        get
        {
            ReadOnlySpan<byte> a = Raw;
            if (a.Length >= 2 && a[0] == (byte)'<' && a[^1] == (byte)'>')
            {
                a = a[1..^1];
            }

            return new Utf8Address(a);
        }
    }

    /// <summary>The ESMTP arguments (SIZE=…, BODY=…, NOTIFY=…), one string each.</summary>
    public ArgvReader Arguments => new(_arguments);

    /// <summary>True when the address equals <paramref name="address"/>, ignoring ASCII case.</summary>
    public bool Is(ReadOnlySpan<char> address)
    {
        ReadOnlySpan<byte> a = Address.Bytes;
        if (a.Length != address.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (char.ToLowerInvariant((char)a[i]) != char.ToLowerInvariant(address[i]))
            {
                return false;
            }
        }

        return true;
    }

    [Obsolete("Use Address.ToString() (or ToString()), which returns the same text.")]
    public string AddressString() => Address.ToString();

    /// <summary>The address without angle brackets, as text (allocates): what <c>Address.ToString()</c> returns.</summary>
    public override string ToString() => Address.ToString();

    /// <summary>The parsed MAIL or RCPT command, seen from a filter.</summary>
    public EnvelopeAddress(EnvelopeCommand command)
        : this(command.Address, command.Arguments)
    {
    }

    /// <summary>Parses a MAIL/RCPT payload: the address, then the ESMTP arguments.</summary>
    /// <exception cref="MilterProtocolException">A string of the payload is not NUL-terminated.</exception>
    public static EnvelopeAddress Parse(ReadOnlySpan<byte> payload)
    {
        return new EnvelopeAddress(EnvelopeCommand.Parse(payload));
    }
}
