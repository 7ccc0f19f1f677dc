using System.Buffers.Binary;
using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

public class FrameReaderTests
{
    private const int Max = 1024 * 1024;

    public static TheoryData<string, byte[]> ValidFrames => new()
    {
        { "continue (no payload)", Frame('c') },
        { "header", Frame('L', "Subject\0hello world\0") },
        { "connect", Frame('C', "mail.example.org\04\0\x19" + "192.0.2.1\0") },
        { "body with NULs", Frame('B', "a\0b\0\r\n") },
        { "negotiation", Frame('O', "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff") },
        { "macro", Frame('D', "C{daemon_name}\0mta\0j\0host\0") },
    };

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void EveryStrictPrefixOfAFrameNeedsMoreDataAndConsumesNothing(string kind, byte[] frame)
    {
        for (int length = 0; length < frame.Length; length++)
        {
            ReadOnlySpan<byte> prefix = frame.AsSpan(0, length);
            bool complete = MilterFrameReader.TryReadFrame(prefix, Max, out MilterFrame parsed, out int consumed, out int required);

            Assert.False(complete, $"{kind}: a {length}-byte prefix was read as a frame");
            Assert.Equal(0, consumed);
            Assert.Equal(0, parsed.Command);
            int expectedRequired = length < MilterFrameReader.LengthSize ? MilterFrameReader.HeaderSize : frame.Length;
            Assert.Equal(expectedRequired, required);
            Assert.True(required > length, $"{kind}: required length {required} does not exceed the {length} bytes present");
        }
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void AWholeFrameIsReadAndItsLengthReported(string kind, byte[] frame)
    {
        byte[] withTrailingBytes = Concat(frame, Of("\0\0\0"));

        Assert.True(MilterFrameReader.TryReadFrame(withTrailingBytes, Max, out MilterFrame parsed, out int consumed, out int required), kind);

        Assert.Equal(frame.Length, consumed);
        Assert.Equal(0, required);
        Assert.Equal(frame[4], parsed.Command);
        Assert.Equal(frame.AsSpan(5).ToArray(), parsed.Payload.ToArray());
    }

    [Fact]
    public void TheLengthFieldCountsTheCommandByte()
    {
        byte[] frame = Frame('h', "X\0y\0");

        Assert.Equal(5u, BinaryPrimitives.ReadUInt32BigEndian(frame));
        Assert.Equal(9, frame.Length);
    }

    [Fact]
    public void EveryTwoWaySplitOfAStreamOfSeveralFramesYieldsTheSameFrames()
    {
        byte[] stream = Concat(
            Frame('O', "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"),
            Frame('D', "Cj\0mx.example.org\0"),
            Frame('C', "client.example.org\04\x04\xd2" + "198.51.100.7\0"),
            Frame('N'),
            Frame('L', "From\0<a@example.org>\0"),
            Frame('B', "line\r\n"),
            Frame('E'));
        List<(byte Command, byte[] Payload)> expected = ReadAll(stream);
        Assert.Equal(7, expected.Count);

        for (int split = 0; split <= stream.Length; split++)
        {
            var received = new List<(byte Command, byte[] Payload)>();
            var buffer = new List<byte>();
            foreach (byte[] segment in new[] { stream[..split], stream[split..] })
            {
                buffer.AddRange(segment);
                while (true)
                {
                    byte[] pending = buffer.ToArray();
                    if (!MilterFrameReader.TryReadFrame(pending, Max, out MilterFrame frame, out int consumed))
                    {
                        break;
                    }

                    received.Add((frame.Command, frame.Payload.ToArray()));
                    buffer.RemoveRange(0, consumed);
                }
            }

            Assert.Empty(buffer);
            Assert.Equal(expected.Count, received.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Command, received[i].Command);
                Assert.Equal(expected[i].Payload, received[i].Payload);
            }
        }
    }

    [Fact]
    public void AStreamFedOneByteAtATimeYieldsTheSameFrames()
    {
        byte[] stream = Concat(Frame('M', "<a@b>\0SIZE=10\0"), Frame('R', "<c@d>\0"), Frame('T'));
        var received = new List<byte>();
        var commands = new List<char>();
        foreach (byte b in stream)
        {
            received.Add(b);
            byte[] pending = received.ToArray();
            if (MilterFrameReader.TryReadFrame(pending, Max, out MilterFrame frame, out int consumed))
            {
                commands.Add((char)frame.Command);
                received.RemoveRange(0, consumed);
            }
        }

        Assert.Equal(['M', 'R', 'T'], commands);
        Assert.Empty(received);
    }

    [Fact]
    public void ALengthAboveTheMaximumThrowsFrameTooLargeAsSoonAsTheHeaderArrives()
    {
        byte[] header = Of("\0\x01\0\x01L"); // announces 65536 bytes of payload; none of them present

        MilterProtocolError error = ErrorOf(() => MilterFrameReader.TryReadFrame(header, 65535, out _, out _));

        Assert.Equal(MilterProtocolError.FrameTooLarge, error);
    }

    [Fact]
    public void TheLengthIsCheckedAgainstTheMaximumWithOnlyTheLengthFieldPresent()
    {
        byte[] lengthOnly = Of("\x7f\xff\xff\xff");

        Assert.Equal(MilterProtocolError.FrameTooLarge, ErrorOf(() => MilterFrameReader.TryReadFrame(lengthOnly, Max, out _, out _)));
    }

    [Fact]
    public void APayloadOfExactlyTheMaximumIsAccepted()
    {
        byte[] frame = Frame((byte)'B', new byte[1000]);

        Assert.True(MilterFrameReader.TryReadFrame(frame, 1000, out MilterFrame parsed, out _));
        Assert.Equal(1000, parsed.Payload.Length);
        Assert.Equal(MilterProtocolError.FrameTooLarge, ErrorOf(() => MilterFrameReader.TryReadFrame(frame, 999, out _, out _)));
    }

    [Fact]
    public void AZeroLengthThrowsEmptyFrame()
    {
        Assert.Equal(MilterProtocolError.EmptyFrame, ErrorOf(() => MilterFrameReader.TryReadFrame(Of("\0\0\0\0"), Max, out _, out _)));
        Assert.Equal(MilterProtocolError.EmptyFrame, ErrorOf(() => MilterFrameReader.TryReadFrame(Of("\0\0\0\0c"), Max, out _, out _)));
    }

    [Theory]
    [InlineData(0x80000000u)]
    [InlineData(0x7FFFFFFFu)]
    [InlineData(0xFFFFFFFFu)]
    public void AHugeLengthIsTooLargeEvenWhenTheMaximumIsUnlimited(uint length)
    {
        byte[] header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);

        Assert.Equal(MilterProtocolError.FrameTooLarge, ErrorOf(() => MilterFrameReader.TryReadFrame(header, int.MaxValue, out _, out _)));
    }

    [Fact]
    public void TheFramePayloadIsASliceOfTheBufferNotACopy()
    {
        byte[] frame = Frame('L', "A\0b\0");

        Assert.True(MilterFrameReader.TryReadFrame(frame, Max, out MilterFrame parsed, out _));

        Assert.True(System.Runtime.CompilerServices.Unsafe.AreSame(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(parsed.Payload), ref frame[5]));
    }
}
