using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>What a frame's arguments are (which fields of <see cref="FrameArguments"/> hold them).</summary>
internal enum ArgumentKind : byte
{
    None,
    Negotiation,
    Connect,
    Text,
    Envelope,
    Header,
}

/// <summary>
/// The arguments of the frame being handled, parsed once when it arrives: spans into its payload (and the negotiation
/// offer, a value). They cannot outlive the call; when a callback of the frame runs on, <see cref="Positions"/> notes
/// where in the payload each one lies, so the session goes on from those positions instead of parsing the frame again.
/// </summary>
internal ref struct FrameArguments
{
    public ArgumentKind Kind;
    public OptionNegotiation Offered;
    public ConnectCommand Connect;

    /// <summary>HELO's name, a body chunk (also the one end of message may carry), an unknown command's text.</summary>
    public ReadOnlySpan<byte> Text;
    public EnvelopeCommand Envelope;
    public HeaderCommand Header;

    /// <summary>Where the arguments lie in <paramref name="payload"/>, the frame they were parsed from.</summary>
    public readonly FrameArgumentPositions Positions(ReadOnlySpan<byte> payload) => Kind switch
    {
        ArgumentKind.Negotiation => new(Kind, default, default, offered: Offered),
        ArgumentKind.Connect => new(Kind, PayloadRange.Of(payload, Connect.HostName), PayloadRange.Of(payload, Connect.Address), Connect.Family, Connect.Port),
        ArgumentKind.Text => new(Kind, PayloadRange.Of(payload, Text), default),
        ArgumentKind.Envelope => new(Kind, PayloadRange.Of(payload, Envelope.Address), PayloadRange.Of(payload, Envelope.Arguments)),
        ArgumentKind.Header => new(Kind, PayloadRange.Of(payload, Header.Name), PayloadRange.Of(payload, Header.Value)),
        _ => default,
    };

    /// <summary>An offset and length in a payload.</summary>
    internal readonly record struct PayloadRange(int Offset, int Length)
    {
        public static PayloadRange Of(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> part)
        {
            if (part.IsEmpty)
            {
                return default;
            }

            // Every argument is a slice of its frame's payload; anything else is a bug of the parser, not of the peer.
            if (!payload.Overlaps(part, out int offset) || offset < 0 || offset + part.Length > payload.Length)
            {
                throw new InvalidOperationException("a frame argument does not lie inside its frame");
            }

            return new PayloadRange(offset, part.Length);
        }

        public ReadOnlySpan<byte> In(ReadOnlySpan<byte> payload) => payload.Slice(Offset, Length);
    }
}

/// <summary>
/// Where a frame's arguments lie in its payload, kept while a callback of the frame runs on (the connection leaves the
/// frame's bytes in place until the frame is done). No spans, so it can wait in a field.
/// </summary>
internal readonly struct FrameArgumentPositions(
    ArgumentKind kind, FrameArguments.PayloadRange first, FrameArguments.PayloadRange second, ConnectFamily family = default, ushort port = 0, OptionNegotiation offered = default)
{
    /// <summary>The arguments again, as spans into <paramref name="payload"/>: the same frame's payload.</summary>
    public FrameArguments In(ReadOnlySpan<byte> payload)
    {
        var arguments = new FrameArguments { Kind = kind, Offered = offered };
        switch (kind)
        {
            case ArgumentKind.Connect:
                arguments.Connect = new ConnectCommand(first.In(payload), family, port, second.In(payload));
                break;
            case ArgumentKind.Text:
                arguments.Text = first.In(payload);
                break;
            case ArgumentKind.Envelope:
                arguments.Envelope = new EnvelopeCommand(first.In(payload), second.In(payload));
                break;
            case ArgumentKind.Header:
                arguments.Header = new HeaderCommand(first.In(payload), second.In(payload));
                break;
        }

        return arguments;
    }
}
