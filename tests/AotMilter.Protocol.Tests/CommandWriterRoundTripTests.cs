using System.Text;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>Every command an MTA sends, written by <see cref="MilterCommandWriter"/> and read back by the milter-side parsers.</summary>
public class CommandWriterRoundTripTests
{
    private static byte[] Written(Action<ByteBufferWriter> write)
    {
        var writer = new ByteBufferWriter(4);
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static (byte Command, byte[] Payload) Single(byte[] bytes) => Assert.Single(ReadAll(bytes));

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void NegotiateWritesWhatPostfixSendsByDefault()
    {
        // Postfix 3.x with milter_protocol = 6, as seen on the wire (rspamd logs it as 6, 511, 2097151).
        byte[] captured = Of("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff");

        byte[] bytes = Written(w => MilterCommandWriter.WriteNegotiate(w, new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6)));

        Assert.Equal(captured, bytes);
        (byte command, byte[] payload) = Single(bytes);
        Assert.Equal((byte)'O', command);
        Assert.Equal(new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6), OptionNegotiation.Parse(payload));
    }

    [Theory]
    [InlineData(ConnectFamily.IPv4, (ushort)25025, "192.0.2.10")]
    [InlineData(ConnectFamily.IPv6, (ushort)1, "2001:db8::1")]
    [InlineData(ConnectFamily.Unix, (ushort)0, "/run/smtp.sock")]
    public void ConnectRoundTrips(ConnectFamily family, ushort port, string address)
    {
        byte[] bytes = Written(w => MilterCommandWriter.WriteConnect(w, "client.example.net", family, port, address));

        (byte command, byte[] payload) = Single(bytes);
        ConnectCommand connect = ConnectCommand.Parse(payload);

        Assert.Equal((byte)'C', command);
        Assert.Equal("client.example.net", Utf8(connect.HostName));
        Assert.Equal(family, connect.Family);
        Assert.Equal(port, connect.Port);
        Assert.Equal(address, Utf8(connect.Address));
    }

    [Fact]
    public void ConnectWithTheUnknownFamilyCarriesNoPortOrAddress()
    {
        byte[] bytes = Written(w => MilterCommandWriter.WriteConnect(w, "unknown", ConnectFamily.Unknown, 25, "ignored"));

        Assert.Equal(Frame('C', "unknown\0U"), bytes);
        Assert.Equal(ConnectFamily.Unknown, ConnectCommand.Parse(Single(bytes).Payload).Family);
    }

    [Fact]
    public void ConnectMatchesAHandBuiltFrame()
    {
        byte[] bytes = Written(w => MilterCommandWriter.WriteConnect(w, "h", ConnectFamily.IPv4, 0x61C1, "192.0.2.1"));

        Assert.Equal(Frame('C', "h\0" + "4\x61\xc1" + "192.0.2.1\0"), bytes);
    }

    [Fact]
    public void HeloRoundTrips()
    {
        (byte command, byte[] payload) = Single(Written(w => MilterCommandWriter.WriteHelo(w, "client.example.net")));
        ReadOnlySpan<byte> rest = payload;

        Assert.Equal((byte)'H', command);
        Assert.Equal("client.example.net", Utf8(NulString.Read(ref rest, "helo")));
        Assert.Equal(0, rest.Length);
    }

    [Theory]
    [InlineData('M')]
    [InlineData('R')]
    public void EnvelopeCommandsRoundTripWithEveryArgument(char letter)
    {
        string[] arguments = ["SIZE=4096", "BODY=8BITMIME", "NOTIFY=SUCCESS,FAILURE"];
        byte[] bytes = Written(w =>
        {
            if (letter == 'M')
            {
                MilterCommandWriter.WriteMail(w, "<sender@example.org>", arguments);
            }
            else
            {
                MilterCommandWriter.WriteRcpt(w, "<sender@example.org>", arguments);
            }
        });

        (byte command, byte[] payload) = Single(bytes);
        EnvelopeCommand envelope = EnvelopeCommand.Parse(payload);
        var read = new List<string>();
        foreach (ReadOnlySpan<byte> argument in new ArgvReader(envelope.Arguments))
        {
            read.Add(Utf8(argument));
        }

        Assert.Equal((byte)letter, command);
        Assert.Equal("<sender@example.org>", Utf8(envelope.Address));
        Assert.Equal(arguments, read);
    }

    [Fact]
    public void AnEnvelopeCommandWithoutArgumentsIsTheAddressAlone()
    {
        Assert.Equal(Frame('M', "<>\0"), Written(w => MilterCommandWriter.WriteMail(w, "<>", [])));
    }

    [Theory]
    [InlineData("Subject", "Grüße")]
    [InlineData("X-Folded", "first\n\tsecond")]
    [InlineData("X-Empty", "")]
    public void HeaderRoundTripsFromTextAndFromBytes(string name, string value)
    {
        byte[] fromText = Written(w => MilterCommandWriter.WriteHeader(w, name, value));
        byte[] fromBytes = Written(w => MilterCommandWriter.WriteHeader(w, Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(value)));

        (byte command, byte[] payload) = Single(fromText);
        HeaderCommand header = HeaderCommand.Parse(payload);

        Assert.Equal(fromText, fromBytes);
        Assert.Equal((byte)'L', command);
        Assert.Equal(name, Utf8(header.Name));
        Assert.Equal(value, Utf8(header.Value));
    }

    [Fact]
    public void AnEightBitHeaderIsSentExactly()
    {
        byte[] value = [0xE9, (byte)'t', 0xE9];

        (_, byte[] payload) = Single(Written(w => MilterCommandWriter.WriteHeader(w, "X-Latin1"u8, value)));

        Assert.Equal(value, HeaderCommand.Parse(payload).Value.ToArray());
    }

    [Fact]
    public void MacrosRoundTripThroughTheMacroReader()
    {
        (string, string)[] macros = [("j", "mx.example.com"), ("{daemon_name}", "smtpd"), ("{client_addr}", "")];

        (byte command, byte[] payload) = Single(Written(w => MilterCommandWriter.WriteMacros(w, (byte)'C', macros)));
        MacroReader reader = MacroReader.Parse(payload);
        var read = new List<(string, string)>();
        while (reader.MoveNext())
        {
            read.Add((Utf8(reader.Name), Utf8(reader.Value)));
        }

        Assert.Equal((byte)'D', command);
        Assert.Equal((byte)'C', reader.Stage);
        Assert.Equal(macros, read);
    }

    [Fact]
    public void AMacroPacketWithNoPairsIsTheStageLetterAlone()
    {
        Assert.Equal(Frame('D', "L"), Written(w => MilterCommandWriter.WriteMacros(w, (byte)'L', [])));
    }

    [Fact]
    public void BodyAndEndOfMessageCarryRawBytes()
    {
        byte[] chunk = Of("line\r\n\0binary\r\n");

        Assert.Equal(Frame((byte)'B', chunk), Written(w => MilterCommandWriter.WriteBody(w, chunk)));
        Assert.Equal(Frame((byte)'E', chunk), Written(w => MilterCommandWriter.WriteEndOfMessage(w, chunk)));
        Assert.Equal(Frame('E'), Written(w => MilterCommandWriter.WriteEndOfMessage(w)));
    }

    [Fact]
    public void UnknownCarriesTheCommandLine()
    {
        (byte command, byte[] payload) = Single(Written(w => MilterCommandWriter.WriteUnknown(w, "XFOO bar")));
        ReadOnlySpan<byte> rest = payload;

        Assert.Equal((byte)'U', command);
        Assert.Equal("XFOO bar", Utf8(NulString.Read(ref rest, "command")));
    }

    public static TheoryData<char, Action<ByteBufferWriter>> EmptyCommands => new()
    {
        { 'T', MilterCommandWriter.WriteData },
        { 'N', MilterCommandWriter.WriteEndOfHeaders },
        { 'A', MilterCommandWriter.WriteAbort },
        { 'Q', MilterCommandWriter.WriteQuit },
        { 'K', MilterCommandWriter.WriteQuitNewConnection },
    };

    [Theory]
    [MemberData(nameof(EmptyCommands))]
    public void CommandsWithoutPayloadAreTheirLetterAlone(char letter, Action<ByteBufferWriter> write)
    {
        byte[] bytes = Written(write);

        Assert.Equal(Of($"\0\0\0\x01{letter}"), bytes);
        Assert.Equal((byte)letter, Single(bytes).Command);
    }

    [Fact]
    public void WritingCommandsAllocatesNothing()
    {
        var writer = new ByteBufferWriter(4096);
        (string, string)[] macros = [("i", "4ABCDEF"), ("{mail_addr}", "a@example.org")];
        string[] arguments = ["SIZE=10"];
        WriteAll(writer, macros, arguments);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            WriteAll(writer, macros, arguments);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void WriteAll(ByteBufferWriter w, (string, string)[] macros, string[] arguments)
        {
            w.Reset();
            MilterCommandWriter.WriteNegotiate(w, new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6));
            MilterCommandWriter.WriteMacros(w, (byte)'M', macros);
            MilterCommandWriter.WriteConnect(w, "host", ConnectFamily.IPv4, 25, "192.0.2.1");
            MilterCommandWriter.WriteHelo(w, "host");
            MilterCommandWriter.WriteMail(w, "<a@example.org>", arguments);
            MilterCommandWriter.WriteRcpt(w, "<b@example.org>", arguments);
            MilterCommandWriter.WriteHeader(w, "Subject", "hello");
            MilterCommandWriter.WriteBody(w, "body\r\n"u8);
            MilterCommandWriter.WriteEndOfMessage(w);
        }
    }
}
