namespace AotMilter.Protocol;

/// <summary>
/// SMFIC_MAIL and SMFIC_RCPT: the address as the client wrote it, then one string per ESMTP argument.
/// <code>
/// +------------+-----------------+-----+-----------------+
/// | address \0 | argument 1 \0   | ... | argument n \0   |
/// +------------+-----------------+-----+-----------------+
/// </code>
/// The address is whatever the client wrote after "FROM:" or "TO:": normally "&lt;a@example.org&gt;", "&lt;&gt;" for
/// the null sender, without brackets from older Sendmail; it is passed on as it came. Postfix and Sendmail end every
/// string with a NUL, so the whole payload is checked here: a filter that walks the arguments later
/// (<see cref="ArgvReader"/>) can then never meet a malformed one.
/// </summary>
public readonly ref struct EnvelopeCommand
{
    /// <summary>A command from its parts (an MTA side writing one, or a host giving a parsed one back); nothing is checked.</summary>
    public EnvelopeCommand(ReadOnlySpan<byte> address, ReadOnlySpan<byte> arguments)
    {
        Address = address;
        Arguments = arguments;
    }

    /// <summary>The address as the MTA passed it, without its NUL.</summary>
    public ReadOnlySpan<byte> Address { get; }

    /// <summary>The ESMTP arguments: consecutive NUL-terminated strings, empty when there are none.</summary>
    public ReadOnlySpan<byte> Arguments { get; }

    /// <exception cref="MilterProtocolException">The address or the last argument is not NUL-terminated.</exception>
    public static EnvelopeCommand Parse(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> arguments = payload;
        ReadOnlySpan<byte> address = NulString.Read(ref arguments, "envelope address");
        if (!arguments.IsEmpty && arguments[^1] != 0)
        {
            MilterProtocolException.Throw(MilterProtocolError.MissingTerminator, "ESMTP argument is not NUL-terminated");
        }

        return new EnvelopeCommand(address, arguments);
    }
}
