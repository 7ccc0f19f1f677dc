using System.Text;

namespace AotMilter.Server.Tests;

public class LogTextTests
{
    [Fact]
    public void PlainTextIsLeftAsItIs()
    {
        const string plain = "mail.example.org [192.0.2.1] <a+b@example.org> SIZE=100";

        Assert.Same(plain, LogText.Escape(plain));
        Assert.Equal(plain, LogText.Escape(Encoding.ASCII.GetBytes(plain)));
    }

    [Theory]
    [InlineData("a\r\nb", @"a\r\nb")]
    [InlineData("folded\n\tline", @"folded\n\tline")]
    [InlineData(@"back\slash", @"back\\slash")]
    [InlineData("nul\0bell\adel\x7f", @"nul\x00bell\x07del\x7F")]
    [InlineData("Grüße, 日本, 😀", "Grüße, 日本, 😀")]
    [InlineData("next\u0085line\u2028para\u2029", @"next\u0085line\u2028para\u2029")]
    [InlineData("bidi\u202Eevil\u200B", @"bidi\u202Eevil\u200B")]
    [InlineData("tag\U000E0041", @"tag\U000E0041")]
    public void ControlAndInvisibleCharactersAreEscapedAndPrintableTextIsKept(string value, string expected)
    {
        Assert.Equal(expected, LogText.Escape(Encoding.UTF8.GetBytes(value)));
        Assert.Equal(expected, LogText.Escape(value));
    }

    [Fact]
    public void BytesThatAreNotUtf8AreShownAsTheirValues()
    {
        Assert.Equal(@"a\xFFb\xC3", LogText.Escape([(byte)'a', 0xFF, (byte)'b', 0xC3]));
        Assert.Equal(@"cut \xE2\x80", LogText.Escape([.. "cut "u8, 0xE2, 0x80]));
    }

    [Fact]
    public void NoByteOfTheOutputIsAControlCharacterWhateverTheInput()
    {
        var random = new Random(1234);
        for (int round = 0; round < 2000; round++)
        {
            byte[] value = new byte[random.Next(0, 40)];
            random.NextBytes(value);
            byte[] escaped = Encoding.UTF8.GetBytes(LogText.Escape(value));

            Assert.DoesNotContain(escaped, b => b < 0x20 || b == 0x7F);
        }
    }

    [Fact]
    public void ALongValueIsCutAfter256BytesWithTheNumberOfBytesLeftOut()
    {
        byte[] value = Encoding.ASCII.GetBytes(new string('v', 1024 * 1024));

        string escaped = LogText.Escape(value);

        Assert.Equal(new string('v', 256) + "…(+1048320 bytes)", escaped);
        Assert.Equal(escaped, LogText.Escape(new string('v', 1024 * 1024)));
    }

    [Fact]
    public void ACharacterAcrossTheLimitIsKeptWhole()
    {
        string value = new string('a', 255) + "é" + "tail";

        Assert.Equal(new string('a', 255) + "é…(+4 bytes)", LogText.Escape(Encoding.UTF8.GetBytes(value)));
        Assert.Equal(new string('a', 255) + "é…(+4 bytes)", LogText.Escape(value));
    }

    [Fact]
    public void TheWorstCaseFitsTheDocumentedSize()
    {
        byte[] controls = new byte[100_000];
        byte[] destination = new byte[LogText.MaxEscapedBytes];

        int written = LogText.Escape(controls, destination);

        Assert.Equal((256 * 4) + "…(+99744 bytes)"u8.Length, written);
        Assert.Equal(LogText.MaxEscapedBytes, LogText.MaxEscapedLength(controls.Length));
    }

    [Fact]
    public void WritingToASpanAllocatesNothing()
    {
        byte[] value = Encoding.UTF8.GetBytes("evil\r\nforged line \u2028 " + new string('x', 1000));
        byte[] destination = new byte[LogText.MaxEscapedBytes];
        LogText.Escape(value, destination);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int written = 0;
        for (int i = 0; i < 100; i++)
        {
            written = LogText.Escape(value, destination);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.StartsWith(@"evil\r\nforged line \u2028 xxx", Encoding.UTF8.GetString(destination, 0, written));
    }

    [Fact]
    public void NullAndEmptyAreEmpty()
    {
        Assert.Equal("", LogText.Escape((string?)null));
        Assert.Equal("", LogText.Escape(ReadOnlySpan<byte>.Empty));
    }
}
