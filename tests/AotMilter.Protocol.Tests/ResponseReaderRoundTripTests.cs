using System.Text;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>Every reply a milter sends, written and read back on the MTA side; and the readers' exact errors.</summary>
public class ResponseReaderRoundTripTests
{
    private static byte[] Written(Action<ByteBufferWriter> write)
    {
        var writer = new ByteBufferWriter(4);
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static (byte Command, byte[] Payload) Single(byte[] bytes) => Assert.Single(ReadAll(bytes));

    [Theory]
    [InlineData('c', MilterResponse.Continue)]
    [InlineData('a', MilterResponse.Accept)]
    [InlineData('r', MilterResponse.Reject)]
    [InlineData('t', MilterResponse.TempFail)]
    [InlineData('d', MilterResponse.Discard)]
    [InlineData('s', MilterResponse.Skip)]
    [InlineData('4', MilterResponse.Shutdown)]
    [InlineData('p', MilterResponse.Progress)]
    public void EveryReplyWithoutPayloadRoundTrips(char letter, MilterResponse expected)
    {
        byte[] bytes = Written(w => MilterFrameWriter.WriteEmpty(w, (byte)letter));
        (byte command, byte[] payload) = Single(bytes);

        Assert.True(VerdictReply.TryParse(command, payload, out VerdictReply reply));
        Assert.Equal(expected, reply.Response);
        Assert.Equal(letter == 'p', reply.IsProgress);
        Assert.Equal(0, reply.Code);
        Assert.Equal(bytes, Written(w => VerdictReply.Of(expected).WriteTo(w)));
    }

    [Theory]
    [InlineData("550 5.7.1 Go away", 550, true)]
    [InlineData("451 4.7.1 Later", 451, false)]
    [InlineData("550-5.7.1 first\r\n550 5.7.1 last", 550, true)]
    [InlineData("421", 421, false)]
    public void AReplyCodeRoundTrips(string text, int code, bool rejection)
    {
        byte[] bytes = Frame('y', text + "\0");
        (byte command, byte[] payload) = Single(bytes);

        Assert.True(VerdictReply.TryParse(command, payload, out VerdictReply reply));
        Assert.Equal(MilterResponse.ReplyCode, reply.Response);
        Assert.Equal(text, Encoding.UTF8.GetString(reply.Text));
        Assert.Equal(code, reply.Code);
        Assert.Equal(rejection, reply.IsRejection);
        Assert.Equal(bytes, Written(w => VerdictReply.WithCode(Encoding.UTF8.GetBytes(text)).WriteTo(w)));
    }

    [Theory]
    [InlineData("250 ok")]
    [InlineData("55")]
    [InlineData("5x0 bad")]
    [InlineData("550x")]
    public void AReplyCodeWithoutA4xxOr5xxCodeIsMalformed(string text)
    {
        Assert.Equal(MilterProtocolError.MalformedReplyCode, ErrorOf(() => VerdictReply.TryParse((byte)'y', Of(text + "\0"), out _)));
    }

    [Fact]
    public void AReplyCodeWithoutItsNulIsMissingTerminator()
    {
        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() => VerdictReply.TryParse((byte)'y', Of("550 no"), out _)));
    }

    [Theory]
    [InlineData('c', "x")]
    [InlineData('r', "\0")]
    [InlineData('y', "550 a\0extra")]
    public void AReplyWithBytesWhereNoneBelongIsUnexpectedPayload(char letter, string payload)
    {
        Assert.Equal(MilterProtocolError.UnexpectedPayload, ErrorOf(() => VerdictReply.TryParse((byte)letter, Of(payload), out _)));
    }

    [Theory]
    [InlineData('h')]
    [InlineData('O')]
    [InlineData('f')]
    [InlineData('l')]
    public void AFrameThatIsNoVerdictIsNotReadAsOne(char letter)
    {
        Assert.False(VerdictReply.TryParse((byte)letter, Of("X\0y\0"), out _));
    }

    [Fact]
    public void TheNegotiationReplyRoundTripsWithItsSymbolLists()
    {
        byte[] lists = [.. MilterFrameWriter.EncodeSymbolList(MacroStage.Connect, "j {daemon_name}"), .. MilterFrameWriter.EncodeSymbolList(MacroStage.EndOfHeaders, "")];
        var options = new OptionNegotiation(6, ActionFlags.AddHeaders | ActionFlags.SetSymbolList, ProtocolFlags.NoHelo | ProtocolFlags.NoReplyHeader);
        byte[] bytes = Written(w => MilterFrameWriter.WriteNegotiation(w, options, lists));

        (byte command, byte[] payload) = Single(bytes);
        NegotiationReply reply = NegotiationReply.Parse(payload);
        var read = new List<(MacroStage, string)>();
        SymbolListReader reader = reply.SymbolLists;
        while (reader.MoveNext())
        {
            read.Add((reader.Stage, Encoding.UTF8.GetString(reader.Names)));
        }

        Assert.Equal((byte)'O', command);
        Assert.Equal(options, reply.Options);
        Assert.Equal([(MacroStage.Connect, "j {daemon_name}"), (MacroStage.EndOfHeaders, "")], read);
        Assert.Equal(bytes, Written(w => NegotiationReply.Parse(payload).WriteTo(w)));
    }

    [Fact]
    public void ANegotiationReplyWithABrokenSymbolListFailsWhenParsed()
    {
        byte[] payload = [.. Of("\0\0\0\x06\0\0\0\0\0\0\0\0"), .. Of("\0\0\0\x01j")];

        Assert.Equal(MilterProtocolError.MissingTerminator, ErrorOf(() => NegotiationReply.Parse(payload)));
        Assert.Equal(MilterProtocolError.TruncatedPayload, ErrorOf(() => NegotiationReply.Parse(Of("\0\0\0\x06"))));
    }
}
