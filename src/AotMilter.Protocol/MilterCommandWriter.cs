using System.Buffers;
using System.Buffers.Binary;

namespace AotMilter.Protocol;

/// <summary>
/// Writes the commands an MTA sends (SMFIC_*), the counterpart of the parsers the milter side uses
/// (<see cref="OptionNegotiation.Parse"/>, <see cref="ConnectCommand"/>, <see cref="EnvelopeCommand"/>,
/// <see cref="HeaderCommand"/>, <see cref="MacroReader"/>). Each frame is written whole into the
/// <see cref="IBufferWriter{T}"/> with no intermediate buffer; nothing flushes. Text is encoded as UTF-8.
/// </summary>
public static class MilterCommandWriter
{
    /// <summary><c>O</c>: <c>version:u32 actions:u32 protocol:u32</c>, what the MTA offers.</summary>
    public static void WriteNegotiate(IBufferWriter<byte> writer, OptionNegotiation offered)
    {
        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)MilterCommand.OptionNegotiation, OptionNegotiation.PayloadSize);
        BinaryPrimitives.WriteUInt32BigEndian(span, offered.Version);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)offered.Actions);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], (uint)offered.Protocol);
        writer.Advance(MilterFrameReader.HeaderSize + OptionNegotiation.PayloadSize);
    }

    /// <summary>
    /// <c>D</c>: the stage letter (the command the macros belong to), then <c>name\0value\0</c> for each pair.
    /// Postfix also sends stages L, B and U, and packets with no pairs.
    /// </summary>
    public static void WriteMacros(IBufferWriter<byte> writer, byte stage, ReadOnlySpan<(string Name, string Value)> macros)
    {
        int length = 1;
        foreach ((string name, string value) in macros)
        {
            length += MilterFrameWriter.Utf8Length(name) + MilterFrameWriter.Utf8Length(value) + 2;
        }

        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)MilterCommand.Macro, length);
        span[0] = stage;
        span = span[1..];
        foreach ((string name, string value) in macros)
        {
            MilterFrameWriter.PutString(ref span, name);
            MilterFrameWriter.PutString(ref span, value);
        }

        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary><c>C</c>: <c>host\0 family:1 [port:u16 address\0]</c>; port and address are left out for <see cref="ConnectFamily.Unknown"/>.</summary>
    public static void WriteConnect(IBufferWriter<byte> writer, ReadOnlySpan<char> host, ConnectFamily family, ushort port, ReadOnlySpan<char> address)
    {
        bool hasAddress = family != ConnectFamily.Unknown;
        int length = MilterFrameWriter.Utf8Length(host) + 2 + (hasAddress ? 2 + MilterFrameWriter.Utf8Length(address) + 1 : 0);
        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)MilterCommand.Connect, length);
        MilterFrameWriter.PutString(ref span, host);
        span[0] = (byte)family;
        if (hasAddress)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], port);
            span = span[3..];
            MilterFrameWriter.PutString(ref span, address);
        }

        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary><c>H</c>: <c>helo\0</c>.</summary>
    public static void WriteHelo(IBufferWriter<byte> writer, ReadOnlySpan<char> name)
        => MilterFrameWriter.WriteString(writer, (byte)MilterCommand.Helo, name);

    /// <summary><c>M</c>: the sender as written on the SMTP line, then one string per ESMTP argument.</summary>
    public static void WriteMail(IBufferWriter<byte> writer, ReadOnlySpan<char> sender, ReadOnlySpan<string> esmtpArguments)
        => WriteArgv(writer, MilterCommand.Mail, sender, esmtpArguments);

    /// <summary><c>R</c>: the recipient as written on the SMTP line, then one string per ESMTP argument.</summary>
    public static void WriteRcpt(IBufferWriter<byte> writer, ReadOnlySpan<char> recipient, ReadOnlySpan<string> esmtpArguments)
        => WriteArgv(writer, MilterCommand.Rcpt, recipient, esmtpArguments);

    /// <summary><c>T</c> (protocol version 4 and later).</summary>
    public static void WriteData(IBufferWriter<byte> writer) => MilterFrameWriter.WriteEmpty(writer, (byte)MilterCommand.Data);

    /// <summary><c>L</c>: <c>name\0value\0</c>; the value as the MTA passes it (folded with bare LF).</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<char> name, ReadOnlySpan<char> value)
        => MilterFrameWriter.WriteStrings(writer, (byte)MilterCommand.Header, name, value);

    /// <summary><c>L</c> from bytes, sent exactly (8-bit header text).</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int length = name.Length + value.Length + 2;
        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)MilterCommand.Header, length);
        MilterFrameWriter.PutBytes(ref span, name);
        MilterFrameWriter.PutBytes(ref span, value);
        writer.Advance(MilterFrameReader.HeaderSize + length);
    }

    /// <summary><c>N</c>.</summary>
    public static void WriteEndOfHeaders(IBufferWriter<byte> writer) => MilterFrameWriter.WriteEmpty(writer, (byte)MilterCommand.EndOfHeaders);

    /// <summary><c>B</c>: one body chunk, raw (at most <see cref="MilterFrameWriter.MaxChunkSize"/> bytes for a real MTA's milter).</summary>
    public static void WriteBody(IBufferWriter<byte> writer, ReadOnlySpan<byte> chunk)
        => MilterFrameWriter.Write(writer, (byte)MilterCommand.Body, chunk);

    /// <summary><c>E</c>; <paramref name="trailingBody"/> is what libmilter accepts as one more body chunk (no MTA sends it).</summary>
    public static void WriteEndOfMessage(IBufferWriter<byte> writer, ReadOnlySpan<byte> trailingBody = default)
        => MilterFrameWriter.Write(writer, (byte)MilterCommand.EndOfMessage, trailingBody);

    /// <summary><c>A</c>: the MTA abandons the current message.</summary>
    public static void WriteAbort(IBufferWriter<byte> writer) => MilterFrameWriter.WriteEmpty(writer, (byte)MilterCommand.Abort);

    /// <summary><c>Q</c>: the milter connection ends.</summary>
    public static void WriteQuit(IBufferWriter<byte> writer) => MilterFrameWriter.WriteEmpty(writer, (byte)MilterCommand.Quit);

    /// <summary><c>K</c>: the SMTP session ends; a new connect follows on the same milter connection.</summary>
    public static void WriteQuitNewConnection(IBufferWriter<byte> writer) => MilterFrameWriter.WriteEmpty(writer, (byte)MilterCommand.QuitNewConnection);

    /// <summary><c>U</c>: the whole SMTP command line the MTA did not know (protocol version 3 and later).</summary>
    public static void WriteUnknown(IBufferWriter<byte> writer, ReadOnlySpan<char> commandLine)
        => MilterFrameWriter.WriteString(writer, (byte)MilterCommand.Unknown, commandLine);

    private static void WriteArgv(IBufferWriter<byte> writer, MilterCommand command, ReadOnlySpan<char> first, ReadOnlySpan<string> rest)
    {
        int length = MilterFrameWriter.Utf8Length(first) + 1;
        foreach (string argument in rest)
        {
            length += MilterFrameWriter.Utf8Length(argument) + 1;
        }

        Span<byte> span = MilterFrameWriter.StartFrame(writer, (byte)command, length);
        MilterFrameWriter.PutString(ref span, first);
        foreach (string argument in rest)
        {
            MilterFrameWriter.PutString(ref span, argument);
        }

        writer.Advance(MilterFrameReader.HeaderSize + length);
    }
}
