using static AotMilter.Protocol.Tests.TestBytes;

namespace AotMilter.Protocol.Tests;

/// <summary>Each modification as one <see cref="MilterModification"/>: read from the bytes libmilter sends, written back, compared.</summary>
public class ModificationRoundTripTests
{
    private static byte[] Written(MilterModification modification)
    {
        var writer = new ByteBufferWriter(4);
        modification.WriteTo(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static MilterModification Read(byte[] frame)
    {
        Assert.True(MilterFrameReader.TryReadFrame(frame, int.MaxValue, out MilterFrame f, out int length));
        Assert.Equal(frame.Length, length);
        Assert.True(MilterModification.TryParse(f.Command, f.Payload, out MilterModification modification));
        return modification;
    }

    // The frames as libmilter's smfi_* calls put them on the wire (mi_wr_cmd), written out by hand.
    public static TheoryData<string, string, ActionFlags> Captured => new()
    {
        { "h", "X-Spam\0yes\0", ActionFlags.AddHeaders },
        { "i", "\0\0\0\0X-First\0 top\0", ActionFlags.AddHeaders },
        { "m", "\0\0\0\x02Subject\0 new\0", ActionFlags.ChangeHeaders },
        { "m", "\0\0\0\x01Subject\0\0", ActionFlags.ChangeHeaders },
        { "+", "<new@example.org>\0", ActionFlags.AddRecipient },
        { "2", "<new@example.org>\0NOTIFY=NEVER ORCPT=rfc822;x@y\0", ActionFlags.AddRecipientWithArgs },
        { "2", "<new@example.org>\0", ActionFlags.AddRecipientWithArgs },
        { "-", "<old@example.org>\0", ActionFlags.DeleteRecipient },
        { "e", "<bounce@example.org>\0", ActionFlags.ChangeSender },
        { "e", "<bounce@example.org>\0RET=HDRS\0", ActionFlags.ChangeSender },
        { "q", "held for review\0", ActionFlags.Quarantine },
        { "b", "new body\r\n\0with a NUL\r\n", ActionFlags.ChangeBody },
        { "b", "", ActionFlags.ChangeBody },
    };

    [Theory]
    [MemberData(nameof(Captured))]
    public void ACapturedModificationReadsAndWritesBackTheSameBytes(string letter, string payload, ActionFlags action)
    {
        byte[] frame = Frame(letter[0], payload);

        MilterModification modification = Read(frame);

        Assert.Equal((MilterResponse)letter[0], modification.Kind);
        Assert.Equal(action, modification.RequiredAction);
        Assert.Equal(frame, Written(modification));
    }

    [Fact]
    public void TheFieldsOfEachKindAreNamed()
    {
        MilterModification change = Read(Frame('m', "\0\0\0\x02Subject\0 new\0"));
        Assert.Equal(2u, change.Index);
        Assert.Equal("Subject"u8, change.Name);
        Assert.Equal(" new"u8, change.Value);
        Assert.False(change.IsHeaderDelete);
        Assert.True(Read(Frame('m', "\0\0\0\x01Subject\0\0")).IsHeaderDelete);

        MilterModification withArgs = Read(Frame('e', "<a@b>\0RET=HDRS\0"));
        Assert.Equal("<a@b>"u8, withArgs.Address);
        Assert.True(withArgs.HasArguments);
        Assert.Equal("RET=HDRS"u8, withArgs.Arguments);
        Assert.False(Read(Frame('e', "<a@b>\0")).HasArguments);

        Assert.Equal("held"u8, Read(Frame('q', "held\0")).Reason);
        Assert.Equal("x\r\n"u8, Read(Frame('b', "x\r\n")).Chunk);
    }

    [Fact]
    public void TheFactoriesWriteWhatTheReaderReads()
    {
        Assert.True(Read(Written(MilterModification.AddHeader("X-A"u8, "1"u8))) == MilterModification.AddHeader("X-A"u8, "1"u8));
        Assert.True(Read(Written(MilterModification.InsertHeader(3, "X-A"u8, "1"u8))) == MilterModification.InsertHeader(3, "X-A"u8, "1"u8));
        Assert.True(Read(Written(MilterModification.ChangeHeader(1, "X-A"u8, ""u8))) == MilterModification.ChangeHeader(1, "X-A"u8, ""u8));
        Assert.True(Read(Written(MilterModification.AddRecipient("<r>"u8))) == MilterModification.AddRecipient("<r>"u8));
        Assert.True(Read(Written(MilterModification.AddRecipient("<r>"u8, ""u8))) == MilterModification.AddRecipient("<r>"u8, ""u8));
        Assert.True(Read(Written(MilterModification.DeleteRecipient("<r>"u8))) == MilterModification.DeleteRecipient("<r>"u8));
        Assert.True(Read(Written(MilterModification.ChangeSender("<s>"u8))) == MilterModification.ChangeSender("<s>"u8));
        Assert.True(Read(Written(MilterModification.ChangeSender("<s>"u8, "RET=FULL"u8))) == MilterModification.ChangeSender("<s>"u8, "RET=FULL"u8));
        Assert.True(Read(Written(MilterModification.Quarantine("why"u8))) == MilterModification.Quarantine("why"u8));
        Assert.True(Read(Written(MilterModification.ReplaceBody("b"u8))) == MilterModification.ReplaceBody("b"u8));
    }

    [Fact]
    public void EqualityComparesKindIndexAndBytes()
    {
        Assert.True(MilterModification.ChangeHeader(1, "S"u8, "v"u8) == MilterModification.ChangeHeader(1, "S"u8, "v"u8));
        Assert.True(MilterModification.ChangeHeader(1, "S"u8, "v"u8) != MilterModification.ChangeHeader(2, "S"u8, "v"u8));
        Assert.True(MilterModification.ChangeHeader(1, "S"u8, "v"u8) != MilterModification.InsertHeader(1, "S"u8, "v"u8));
        Assert.True(MilterModification.ChangeSender("<s>"u8) != MilterModification.ChangeSender("<s>"u8, ""u8));
        Assert.True(MilterModification.AddHeader("S"u8, "v"u8) != MilterModification.AddHeader("S"u8, "w"u8));
        Assert.Equal(MilterModification.AddHeader("S"u8, "v"u8).GetHashCode(), MilterModification.AddHeader("S"u8, "v"u8).GetHashCode());
    }

    [Theory]
    [InlineData('h', "X-Spam\0yes", MilterProtocolError.MissingTerminator)]
    [InlineData('h', "X-Spam\0yes\0extra", MilterProtocolError.UnexpectedPayload)]
    [InlineData('i', "\0\0\0", MilterProtocolError.TruncatedPayload)]
    [InlineData('m', "\0\0\0\x01S", MilterProtocolError.MissingTerminator)]
    [InlineData('+', "<a@b>\0<c@d>\0", MilterProtocolError.UnexpectedPayload)]
    [InlineData('2', "<a@b>\0A=1\0B=2\0", MilterProtocolError.UnexpectedPayload)]
    [InlineData('-', "", MilterProtocolError.MissingTerminator)]
    [InlineData('q', "reason", MilterProtocolError.MissingTerminator)]
    public void AMalformedModificationFailsWithItsExactError(char letter, string payload, MilterProtocolError expected)
    {
        Assert.Equal(expected, ErrorOf(() => MilterModification.TryParse((byte)letter, Of(payload), out _)));
    }

    [Theory]
    [InlineData('c')]
    [InlineData('y')]
    [InlineData('p')]
    [InlineData('O')]
    public void AFrameThatIsNoModificationIsNotReadAsOne(char letter)
    {
        Assert.False(MilterModification.IsModification((byte)letter));
        Assert.False(MilterModification.TryParse((byte)letter, Of("550 x\0"), out _));
    }
}
