using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AotMilter.Protocol;

/// <summary>
/// One modification a milter sends at end of message, as one value over the frame's bytes (no copy):
/// <code>
/// h  name\0 value\0                  add header          (ADDHDRS)
/// i  index:u32 name\0 value\0        insert header       (ADDHDRS)     index 0 = top
/// m  index:u32 name\0 value\0        change header       (CHGHDRS)     1-based per name; empty value = delete
/// +  rcpt\0                          add recipient       (ADDRCPT)
/// 2  rcpt\0 [args\0]                 add recipient, args (ADDRCPT_PAR) args is one space-separated string
/// -  rcpt\0                          delete recipient    (DELRCPT)
/// e  from\0 [args\0]                 change sender       (CHGFROM)
/// q  reason\0                        quarantine          (QUARANTINE)
/// b  raw bytes                       body chunk          (CHGBODY)
/// </code>
/// Two modifications are equal when they would be written as the same bytes.
/// </summary>
public readonly ref struct MilterModification : IEquatable<MilterModification>
{
    private readonly ReadOnlySpan<byte> _first;
    private readonly ReadOnlySpan<byte> _second;

    private MilterModification(MilterResponse kind, uint index, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool hasSecond)
    {
        Kind = kind;
        Index = index;
        _first = first;
        _second = second;
        HasArguments = hasSecond && kind is MilterResponse.AddRecipientWithArgs or MilterResponse.ChangeSender;
    }

    public MilterResponse Kind { get; }

    /// <summary>The header index of insert (0 = top) and change (1 = first of that name); 0 for the others.</summary>
    public uint Index { get; }

    /// <summary>Header name (h, i, m).</summary>
    public ReadOnlySpan<byte> Name => _first;

    /// <summary>Header value (h, i, m); empty in a change means delete.</summary>
    public ReadOnlySpan<byte> Value => _second;

    /// <summary>The recipient (+, 2, -) or the new sender (e).</summary>
    public ReadOnlySpan<byte> Address => _first;

    /// <summary>The ESMTP arguments of 2 and e, one string; see <see cref="HasArguments"/>.</summary>
    public ReadOnlySpan<byte> Arguments => _second;

    /// <summary>True when a 2 or e frame carried its arguments string (possibly empty).</summary>
    public bool HasArguments { get; }

    /// <summary>The quarantine reason (q).</summary>
    public ReadOnlySpan<byte> Reason => _first;

    /// <summary>The body chunk (b).</summary>
    public ReadOnlySpan<byte> Chunk => _first;

    /// <summary>True for a change header with an empty value.</summary>
    public bool IsHeaderDelete => Kind == MilterResponse.ChangeHeader && _second.IsEmpty;

    /// <summary>The action flag the milter must have negotiated to send this.</summary>
    public ActionFlags RequiredAction => Kind switch
    {
        MilterResponse.AddHeader or MilterResponse.InsertHeader => ActionFlags.AddHeaders,
        MilterResponse.ChangeHeader => ActionFlags.ChangeHeaders,
        MilterResponse.AddRecipient => ActionFlags.AddRecipient,
        MilterResponse.AddRecipientWithArgs => ActionFlags.AddRecipientWithArgs,
        MilterResponse.DeleteRecipient => ActionFlags.DeleteRecipient,
        MilterResponse.ChangeSender => ActionFlags.ChangeSender,
        MilterResponse.Quarantine => ActionFlags.Quarantine,
        _ => ActionFlags.ChangeBody,
    };

    public static MilterModification AddHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => new(MilterResponse.AddHeader, 0, name, value, true);

    public static MilterModification InsertHeader(uint index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => new(MilterResponse.InsertHeader, index, name, value, true);

    public static MilterModification ChangeHeader(uint index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => new(MilterResponse.ChangeHeader, index, name, value, true);

    public static MilterModification AddRecipient(ReadOnlySpan<byte> address) => new(MilterResponse.AddRecipient, 0, address, default, false);

    public static MilterModification AddRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> arguments) => new(MilterResponse.AddRecipientWithArgs, 0, address, arguments, true);

    public static MilterModification DeleteRecipient(ReadOnlySpan<byte> address) => new(MilterResponse.DeleteRecipient, 0, address, default, false);

    public static MilterModification ChangeSender(ReadOnlySpan<byte> address) => new(MilterResponse.ChangeSender, 0, address, default, false);

    public static MilterModification ChangeSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> arguments) => new(MilterResponse.ChangeSender, 0, address, arguments, true);

    public static MilterModification Quarantine(ReadOnlySpan<byte> reason) => new(MilterResponse.Quarantine, 0, reason, default, false);

    public static MilterModification ReplaceBody(ReadOnlySpan<byte> chunk) => new(MilterResponse.ReplaceBody, 0, chunk, default, false);

    /// <summary>True when <paramref name="command"/> is a modification byte.</summary>
    public static bool IsModification(byte command) => (MilterResponse)command is MilterResponse.AddHeader or MilterResponse.InsertHeader
        or MilterResponse.ChangeHeader or MilterResponse.AddRecipient or MilterResponse.AddRecipientWithArgs
        or MilterResponse.DeleteRecipient or MilterResponse.ChangeSender or MilterResponse.Quarantine or MilterResponse.ReplaceBody;

    /// <summary>
    /// Reads the modification a frame carries; false (nothing thrown) when <paramref name="command"/> is not one.
    /// The payload must hold exactly the fields of its kind.
    /// </summary>
    /// <exception cref="MilterProtocolException">A string is unterminated, an index is missing, or bytes trail.</exception>
    public static bool TryParse(byte command, ReadOnlySpan<byte> payload, out MilterModification modification)
    {
        var kind = (MilterResponse)command;
        ReadOnlySpan<byte> p = payload;
        switch (kind)
        {
            case MilterResponse.AddHeader:
                modification = new(kind, 0, NulString.Read(ref p, "header name"), NulString.Read(ref p, "header value"), true);
                break;
            case MilterResponse.InsertHeader:
            case MilterResponse.ChangeHeader:
                uint index = ReadIndex(ref p, command);
                modification = new(kind, index, NulString.Read(ref p, "header name"), NulString.Read(ref p, "header value"), true);
                break;
            case MilterResponse.AddRecipient:
            case MilterResponse.DeleteRecipient:
                modification = new(kind, 0, NulString.Read(ref p, "recipient"), default, false);
                break;
            case MilterResponse.AddRecipientWithArgs:
            case MilterResponse.ChangeSender:
                ReadOnlySpan<byte> address = NulString.Read(ref p, kind == MilterResponse.ChangeSender ? "sender" : "recipient");
                bool hasArguments = !p.IsEmpty;
                modification = new(kind, 0, address, hasArguments ? NulString.Read(ref p, "ESMTP arguments") : default, hasArguments);
                break;
            case MilterResponse.Quarantine:
                modification = new(kind, 0, NulString.Read(ref p, "quarantine reason"), default, false);
                break;
            case MilterResponse.ReplaceBody:
                modification = new(kind, 0, p, default, false);
                return true;
            default:
                modification = default;
                return false;
        }

        ExpectEnd(p, command);
        return true;
    }

    /// <summary>Writes the modification as its frame.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        if (Kind == MilterResponse.ReplaceBody)
        {
            MilterFrameWriter.Write(writer, (byte)Kind, _first);
            return;
        }

        bool indexed = Kind is MilterResponse.InsertHeader or MilterResponse.ChangeHeader;
        bool two = Kind is MilterResponse.AddHeader or MilterResponse.InsertHeader or MilterResponse.ChangeHeader || HasArguments;
        int length = (indexed ? 4 : 0) + _first.Length + 1 + (two ? _second.Length + 1 : 0);
        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)Kind, length);
        if (indexed)
        {
            BinaryPrimitives.WriteUInt32BigEndian(span, Index);
            span = span[4..];
        }

        MilterFrameWriter.PutBytes(ref span, _first);
        if (two)
        {
            MilterFrameWriter.PutBytes(ref span, _second);
        }

        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    public bool Equals(MilterModification other) => Kind == other.Kind && Index == other.Index && HasArguments == other.HasArguments
        && _first.SequenceEqual(other._first) && _second.SequenceEqual(other._second);

    /// <summary>Not supported: a ref struct cannot be boxed, so it never equals an object.</summary>
    public override bool Equals(object? obj) => throw new NotSupportedException("compare with Equals(MilterModification) or ==");

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Kind);
        hash.Add(Index);
        hash.AddBytes(_first);
        hash.AddBytes(_second);
        return hash.ToHashCode();
    }

    public static bool operator ==(MilterModification left, MilterModification right) => left.Equals(right);

    public static bool operator !=(MilterModification left, MilterModification right) => !left.Equals(right);

    public override string ToString() => Kind switch
    {
        MilterResponse.ReplaceBody => $"'b' {_first.Length} bytes",
        MilterResponse.InsertHeader or MilterResponse.ChangeHeader => $"'{(char)Kind}' {Index} {Text(_first)}: {Text(_second)}",
        MilterResponse.AddHeader => $"'h' {Text(_first)}: {Text(_second)}",
        _ => HasArguments ? $"'{(char)Kind}' {Text(_first)} {Text(_second)}" : $"'{(char)Kind}' {Text(_first)}",
    };

    internal static void ExpectEnd(ReadOnlySpan<byte> rest, byte command)
    {
        if (!rest.IsEmpty)
        {
            MilterProtocolException.Throw(MilterProtocolError.UnexpectedPayload,
                $"'{(char)command}' carries {rest.Length} unexpected trailing bytes");
        }
    }

    private static uint ReadIndex(ref ReadOnlySpan<byte> payload, byte command)
    {
        if (payload.Length < 4)
        {
            MilterProtocolException.Throw(MilterProtocolError.TruncatedPayload, $"'{(char)command}' has no header index");
        }

        uint index = BinaryPrimitives.ReadUInt32BigEndian(payload);
        payload = payload[4..];
        return index;
    }

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
