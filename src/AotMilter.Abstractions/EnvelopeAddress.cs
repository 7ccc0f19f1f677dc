using System.Text;
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

    /// <summary>The address without surrounding angle brackets ("" for the null sender).</summary>
    public ReadOnlySpan<byte> Address
    {
        get
        {
            ReadOnlySpan<byte> a = Raw;
            if (a.Length >= 2 && a[0] == (byte)'<' && a[^1] == (byte)'>')
            {
                a = a[1..^1];
            }

            return a;
        }
    }

    /// <summary>The ESMTP arguments (SIZE=…, BODY=…, NOTIFY=…), one string each.</summary>
    public ArgvReader Arguments => new(_arguments);

    /// <summary>True when the address equals <paramref name="address"/>, ignoring ASCII case.</summary>
    public bool Is(ReadOnlySpan<char> address)
    {
        ReadOnlySpan<byte> a = Address;
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

    public string AddressString() => Encoding.UTF8.GetString(Address);

    /// <summary>Parses a MAIL/RCPT payload: the address, then the ESMTP arguments.</summary>
    /// <exception cref="MilterProtocolException">A string of the payload is not NUL-terminated.</exception>
    public static EnvelopeAddress Parse(ReadOnlySpan<byte> payload)
    {
        EnvelopeCommand command = EnvelopeCommand.Parse(payload);
        return new EnvelopeAddress(command.Address, command.Arguments);
    }
}
