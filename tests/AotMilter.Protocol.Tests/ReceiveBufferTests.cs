using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>The shared receive buffer: frames taken in place, the tail moved forward, growth only when a frame needs it.</summary>
public class ReceiveBufferTests
{
    private static void Receive(ReceiveBuffer buffer, byte[] bytes)
    {
        bytes.CopyTo(buffer.FreeMemory.Span);
        buffer.Commit(bytes.Length);
    }

    [Fact]
    public void MakeRoomMovesTheUnreadTailToTheFront()
    {
        var buffer = new ReceiveBuffer(16);
        Receive(buffer, Of("0123456789"));
        buffer.Consume(6);

        buffer.MakeRoom(8);

        Assert.Equal(0, buffer.Start);
        Assert.Equal(Of("6789"), buffer.Unread.ToArray());
        Assert.Equal(16, buffer.Capacity);
    }

    [Fact]
    public void MakeRoomDoesNothingWhenTheFrameFitsFromTheStart()
    {
        var buffer = new ReceiveBuffer(16);
        Receive(buffer, Of("0123"));
        byte[] before = buffer.Array;

        buffer.MakeRoom(10);

        Assert.Same(before, buffer.Array);
        Assert.Equal(4, buffer.End);
    }

    [Fact]
    public void ALargerFrameGrowsTheBufferKeepingTheTail()
    {
        var buffer = new ReceiveBuffer(8);
        Receive(buffer, Of("abcdefgh"));
        buffer.Consume(2);

        buffer.MakeRoom(100);

        Assert.Equal(100, buffer.Capacity);
        Assert.Equal(Of("cdefgh"), buffer.Unread.ToArray());
    }

    [Fact]
    public void GrowthDoublesUpToTheMaximumAndNoFurther()
    {
        var buffer = new ReceiveBuffer(8, maxCapacity: 12);
        Receive(buffer, Of("abcdefgh"));

        buffer.MakeRoom(9);
        Assert.Equal(12, buffer.Capacity);

        Receive(buffer, Of("ijkl"));
        buffer.MakeRoom(13);
        Assert.Equal(13, buffer.Capacity);
    }

    [Fact]
    public void ConsumingEverythingStartsOverAtZero()
    {
        var buffer = new ReceiveBuffer(8);
        Receive(buffer, Of("abc"));

        buffer.Consume(3);

        Assert.Equal(0, buffer.Start);
        Assert.Equal(0, buffer.End);
    }

    [Fact]
    public void FramesAreReadFromTheBufferAcrossPartialReceives()
    {
        byte[] stream = Concat(Frame('c'), Frame('h', "X-A\0v\0"), Frame('a'));
        var buffer = new ReceiveBuffer(4);
        var commands = new List<char>();
        int offset = 0;
        while (commands.Count < 3)
        {
            if (MilterFrameReader.TryReadFrame(buffer.Unread, int.MaxValue, out MilterFrame frame, out int length, out int required))
            {
                commands.Add((char)frame.Command);
                buffer.Consume(length);
                continue;
            }

            buffer.MakeRoom(required);
            int n = Math.Min(3, stream.Length - offset);
            Receive(buffer, stream[offset..(offset + n)]);
            offset += n;
        }

        Assert.Equal(['c', 'h', 'a'], commands);
    }
}
