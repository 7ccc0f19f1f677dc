using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Protocol.Tests;

/// <summary>Small helpers to build wire bytes and to catch protocol errors from code that returns ref structs.</summary>
internal static class TestBytes
{
    /// <summary>Each char becomes one byte (so "\0" is a NUL and "\x7f" is 0x7F).</summary>
    public static byte[] Of(string text) => Encoding.Latin1.GetBytes(text);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>A frame built by the writer under test.</summary>
    public static byte[] Frame(char command, string payload = "") => Frame((byte)command, Of(payload));

    public static byte[] Frame(byte command, byte[] payload)
    {
        var writer = new ByteBufferWriter(16);
        MilterFrameWriter.Write(writer, command, payload);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The error code of the <see cref="MilterProtocolException"/> the action throws.</summary>
    public static MilterProtocolError ErrorOf(Action action) => Assert.Throws<MilterProtocolException>(action).Error;

    /// <summary>Every frame in <paramref name="stream"/>, as (command, payload) pairs; asserts nothing is left over.</summary>
    public static List<(byte Command, byte[] Payload)> ReadAll(ReadOnlySpan<byte> stream, int maxPayload = int.MaxValue)
    {
        var frames = new List<(byte, byte[])>();
        while (MilterFrameReader.TryReadFrame(stream, maxPayload, out MilterFrame frame, out int length))
        {
            frames.Add((frame.Command, frame.Payload.ToArray()));
            stream = stream[length..];
        }

        Assert.Equal(0, stream.Length);
        return frames;
    }
}
