using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AotMilter.Protocol;

/// <summary>
/// Writes frames into an <see cref="IBufferWriter{T}"/>. Nothing here flushes: the connection sends once per batch of
/// replies. Strings given as chars are encoded as UTF-8 straight into the output, with their NUL terminators.
/// </summary>
public static class MilterFrameWriter
{
    /// <summary>The largest payload a frame may carry towards an MTA that did not negotiate a bigger size.</summary>
    public const int MaxChunkSize = 65535;

    /// <summary>A frame with no payload (continue, accept, reject, abort, quit …).</summary>
    public static void WriteEmpty(IBufferWriter<byte> writer, byte command)
    {
        Span<byte> span = writer.GetSpan(MilterFrameReader.HeaderSize);
        BinaryPrimitives.WriteUInt32BigEndian(span, 1);
        span[4] = command;
        writer.Advance(MilterFrameReader.HeaderSize);
    }

    /// <summary>A frame whose payload is given as raw bytes (body chunks, pre-built payloads).</summary>
    public static void Write(IBufferWriter<byte> writer, byte command, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = StartFrame(writer, command, payload.Length);
        payload.CopyTo(span);
        writer.Advance(MilterFrameReader.HeaderSize + payload.Length);
    }

    /// <summary><c>a\0</c></summary>
    public static void WriteString(IBufferWriter<byte> writer, byte command, ReadOnlySpan<char> a)
    {
        int length = Utf8Length(a) + 1;
        Span<byte> span = StartFrame(writer, command, length);
        PutString(ref span, a);
        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary><c>a\0b\0</c></summary>
    public static void WriteStrings(IBufferWriter<byte> writer, byte command, ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int length = Utf8Length(a) + Utf8Length(b) + 2;
        Span<byte> span = StartFrame(writer, command, length);
        PutString(ref span, a);
        PutString(ref span, b);
        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary><c>index:u32 a\0b\0</c> (insert header, change header).</summary>
    public static void WriteIndexedStrings(IBufferWriter<byte> writer, byte command, uint index, ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int length = 4 + Utf8Length(a) + Utf8Length(b) + 2;
        Span<byte> span = StartFrame(writer, command, length);
        BinaryPrimitives.WriteUInt32BigEndian(span, index);
        span = span[4..];
        PutString(ref span, a);
        PutString(ref span, b);
        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary>The negotiation reply, followed by pre-encoded symbol lists (see <see cref="EncodeSymbolList"/>).</summary>
    public static void WriteNegotiation(IBufferWriter<byte> writer, OptionNegotiation reply, ReadOnlySpan<byte> symbolLists)
    {
        int length = OptionNegotiation.PayloadSize + symbolLists.Length;
        Span<byte> span = StartFrame(writer, (byte)MilterResponse.OptionNegotiation, length);
        BinaryPrimitives.WriteUInt32BigEndian(span, reply.Version);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)reply.Actions);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], (uint)reply.Protocol);
        symbolLists.CopyTo(span[12..]);
        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary>One symbol-list entry of the negotiation reply: <c>stage:u32 "names separated by spaces"\0</c>.</summary>
    public static byte[] EncodeSymbolList(MacroStage stage, string names)
    {
        byte[] bytes = new byte[4 + Encoding.UTF8.GetByteCount(names) + 1];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)stage);
        Encoding.UTF8.GetBytes(names, bytes.AsSpan(4));
        return bytes;
    }

    /// <summary>How many bytes <see cref="WriteChunked"/> writes for <paramref name="contentLength"/> bytes of content.</summary>
    public static int ChunkedLength(int contentLength)
        => contentLength + (((contentLength + MaxChunkSize - 1) / MaxChunkSize) * MilterFrameReader.HeaderSize);

    /// <summary>
    /// Replace-body frames: the content split into chunks of at most <see cref="MaxChunkSize"/> bytes, because neither
    /// MTA accepts a larger frame by default.
    /// </summary>
    public static void WriteChunked(IBufferWriter<byte> writer, byte command, ReadOnlySpan<byte> content)
    {
        while (content.Length > MaxChunkSize)
        {
            Write(writer, command, content[..MaxChunkSize]);
            content = content[MaxChunkSize..];
        }

        if (!content.IsEmpty)
        {
            Write(writer, command, content);
        }
    }

    /// <summary>Writes the length and command byte and returns the payload's span; the caller fills it and advances
    /// <see cref="MilterFrameReader.HeaderSize"/> + <paramref name="payloadLength"/> bytes.</summary>
    internal static Span<byte> StartFrame(IBufferWriter<byte> writer, byte command, int payloadLength)
    {
        Span<byte> span = writer.GetSpan(MilterFrameReader.HeaderSize + payloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)payloadLength + 1);
        span[4] = command;
        return span.Slice(MilterFrameReader.HeaderSize, payloadLength);
    }

    internal static int Utf8Length(ReadOnlySpan<char> s) => Encoding.UTF8.GetByteCount(s);

    internal static void PutString(ref Span<byte> span, ReadOnlySpan<char> s)
    {
        int n = Encoding.UTF8.GetBytes(s, span);
        span[n] = 0;
        span = span[(n + 1)..];
    }

    internal static void PutBytes(ref Span<byte> span, ReadOnlySpan<byte> s)
    {
        s.CopyTo(span);
        span[s.Length] = 0;
        span = span[(s.Length + 1)..];
    }
}
