using System.Buffers.Binary;
using System.Text;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>Each kind of frame the writer makes, read back by the reader and its parser, written again: same bytes.</summary>
public class FrameWriterRoundTripTests
{
    private static byte[] Written(Action<ByteBufferWriter> write)
    {
        var writer = new ByteBufferWriter(8);
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static (byte Command, byte[] Payload) Single(byte[] bytes)
    {
        List<(byte Command, byte[] Payload)> frames = ReadAll(bytes);
        return Assert.Single(frames);
    }

    [Theory]
    [InlineData('c')]
    [InlineData('a')]
    [InlineData('r')]
    [InlineData('t')]
    [InlineData('p')]
    [InlineData('K')]
    public void AnEmptyFrameRoundTrips(char command)
    {
        byte[] bytes = Written(w => MilterFrameWriter.WriteEmpty(w, (byte)command));

        (byte cmd, byte[] payload) = Single(bytes);

        Assert.Equal(Of($"\0\0\0\x01{command}"), bytes);
        Assert.Equal((byte)command, cmd);
        Assert.Empty(payload);
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteEmpty(w, cmd)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\0b")]
    [InlineData("line one\r\nline two\r\n")]
    public void ARawPayloadFrameRoundTrips(string payloadText)
    {
        byte[] original = Of(payloadText);
        byte[] bytes = Written(w => MilterFrameWriter.Write(w, (byte)'B', original));

        (byte cmd, byte[] payload) = Single(bytes);

        Assert.Equal(original, payload);
        Assert.Equal(bytes, Written(w => MilterFrameWriter.Write(w, cmd, payload)));
    }

    [Theory]
    [InlineData("<rcpt@example.org>")]
    [InlineData("")]
    [InlineData("Grüße aus Köln ✉")]
    public void AStringFrameRoundTrips(string text)
    {
        byte[] bytes = Written(w => MilterFrameWriter.WriteString(w, (byte)'+', text));

        (byte cmd, byte[] payload) = Single(bytes);
        ReadOnlySpan<byte> rest = payload;
        string parsed = Encoding.UTF8.GetString(NulString.Read(ref rest, "string"));

        Assert.Equal(0, rest.Length);
        Assert.Equal(text, parsed);
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteString(w, cmd, parsed)));
    }

    [Theory]
    [InlineData("X-Spam", "yes")]
    [InlineData("Subject", "")]
    [InlineData("X-Folded", "first\n\tsecond")]
    [InlineData("X-Umlaut", "Überprüft")]
    public void ATwoStringFrameRoundTripsThroughTheHeaderParser(string name, string value)
    {
        byte[] bytes = Written(w => MilterFrameWriter.WriteStrings(w, (byte)'h', name, value));

        (byte cmd, byte[] payload) = Single(bytes);
        HeaderCommand header = HeaderCommand.Parse(payload);
        string parsedName = Encoding.UTF8.GetString(header.Name);
        string parsedValue = Encoding.UTF8.GetString(header.Value);

        Assert.Equal((name, value), (parsedName, parsedValue));
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteStrings(w, cmd, parsedName, parsedValue)));
    }

    [Theory]
    [InlineData(0u, "X-First", "top")]
    [InlineData(1u, "Subject", "")]
    [InlineData(0xFFFFFFFFu, "X-Last", "far away")]
    public void AnIndexedStringFrameRoundTrips(uint index, string name, string value)
    {
        byte[] bytes = Written(w => MilterFrameWriter.WriteIndexedStrings(w, (byte)'m', index, name, value));

        (byte cmd, byte[] payload) = Single(bytes);
        uint parsedIndex = BinaryPrimitives.ReadUInt32BigEndian(payload);
        HeaderCommand strings = HeaderCommand.Parse(payload.AsSpan(4));
        string parsedName = Encoding.UTF8.GetString(strings.Name);
        string parsedValue = Encoding.UTF8.GetString(strings.Value);

        Assert.Equal((index, name, value), (parsedIndex, parsedName, parsedValue));
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteIndexedStrings(w, cmd, parsedIndex, parsedName, parsedValue)));
    }

    [Fact]
    public void ANegotiationWithoutSymbolListsRoundTrips()
    {
        var reply = new OptionNegotiation(6, ActionFlags.AddHeaders | ActionFlags.ChangeBody, ProtocolFlags.NoConnect | ProtocolFlags.NoReplyHeader);
        byte[] bytes = Written(w => MilterFrameWriter.WriteNegotiation(w, reply, default));

        (byte cmd, byte[] payload) = Single(bytes);

        Assert.Equal((byte)'O', cmd);
        Assert.Equal(OptionNegotiation.PayloadSize, payload.Length);
        Assert.Equal(reply, OptionNegotiation.Parse(payload));
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteNegotiation(w, OptionNegotiation.Parse(payload), default)));
    }

    [Fact]
    public void ANegotiationWithSymbolListsRoundTrips()
    {
        var reply = new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.NoUnknown);
        byte[] lists = Concat(
            MilterFrameWriter.EncodeSymbolList(MacroStage.Connect, "j {daemon_name}"),
            MilterFrameWriter.EncodeSymbolList(MacroStage.EndOfMessage, "i"),
            MilterFrameWriter.EncodeSymbolList(MacroStage.EndOfHeaders, ""));
        byte[] bytes = Written(w => MilterFrameWriter.WriteNegotiation(w, reply, lists));

        (_, byte[] payload) = Single(bytes);
        OptionNegotiation parsed = OptionNegotiation.Parse(payload);
        var reader = new SymbolListReader(payload.AsSpan(OptionNegotiation.PayloadSize));
        var parsedLists = new List<(MacroStage, string)>();
        while (reader.MoveNext())
        {
            parsedLists.Add((reader.Stage, Encoding.UTF8.GetString(reader.Names)));
        }

        Assert.Equal(reply, parsed);
        Assert.Equal([(MacroStage.Connect, "j {daemon_name}"), (MacroStage.EndOfMessage, "i"), (MacroStage.EndOfHeaders, "")], parsedLists);
        byte[] reencoded = Concat(parsedLists.Select(l => MilterFrameWriter.EncodeSymbolList(l.Item1, l.Item2)).ToArray());
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteNegotiation(w, parsed, reencoded)));
    }

    [Fact]
    public void ASymbolListIsTheStageNumberThenTheNamesNulTerminated()
    {
        Assert.Equal(Of("\0\0\0\x05i {msg_id}\0"), MilterFrameWriter.EncodeSymbolList(MacroStage.EndOfMessage, "i {msg_id}"));
        Assert.Equal(Of("\0\0\0\x06\0"), MilterFrameWriter.EncodeSymbolList(MacroStage.EndOfHeaders, ""));
    }

    [Theory]
    [InlineData(0, new int[0])]
    [InlineData(1, new[] { 1 })]
    [InlineData(65535, new[] { 65535 })]
    [InlineData(65536, new[] { 65535, 1 })]
    [InlineData(200_000, new[] { 65535, 65535, 65535, 3395 })]
    public void ChunkedContentIsSplitAt65535AndRoundTrips(int size, int[] chunkSizes)
    {
        byte[] content = new byte[size];
        new Random(size).NextBytes(content);
        byte[] bytes = Written(w => MilterFrameWriter.WriteChunked(w, (byte)'b', content));

        List<(byte Command, byte[] Payload)> frames = ReadAll(bytes);

        Assert.Equal(chunkSizes, frames.Select(f => f.Payload.Length).ToArray());
        Assert.All(frames, f => Assert.Equal((byte)'b', f.Command));
        Assert.Equal(content, frames.SelectMany(f => f.Payload).ToArray());
        Assert.Equal(bytes, Written(w => MilterFrameWriter.WriteChunked(w, (byte)'b', frames.SelectMany(f => f.Payload).ToArray())));
        Assert.Equal(bytes.Length, MilterFrameWriter.ChunkedLength(size));
    }

    [Fact]
    public void SeveralFramesWrittenBackToBackAreReadBackInOrder()
    {
        byte[] bytes = Written(w =>
        {
            MilterFrameWriter.WriteStrings(w, (byte)'h', "X-A", "1");
            MilterFrameWriter.WriteIndexedStrings(w, (byte)'i', 0, "X-B", "2");
            MilterFrameWriter.WriteString(w, (byte)'q', "held");
            MilterFrameWriter.WriteEmpty(w, (byte)'c');
        });

        Assert.Equal("hiqc", new string(ReadAll(bytes).Select(f => (char)f.Command).ToArray()));
    }
}
