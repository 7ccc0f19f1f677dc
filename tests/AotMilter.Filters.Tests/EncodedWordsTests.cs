using System.Diagnostics;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Tests;

public class EncodedWordsTests
{
    [Theory]
    [InlineData("=?UTF-8?B?SGVsbG8=?=", "Hello")]
    [InlineData("=?iso-8859-1?Q?caf=E9_au_lait?=", "café au lait")]
    [InlineData("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab")]
    [InlineData("plain =?unknown?Q?x?= text", "plain =?unknown?Q?x?= text")]
    [InlineData("=?UTF-8?B?not base64?=", "=?UTF-8?B?not base64?=")]
    public void WordsAreDecodedAndWhatCannotBeIsKept(string value, string expected)
        => Assert.Equal(expected, EncodedWords.Decode(value));

    [Fact]
    public void AValueFullOfOpeningsWithoutAnEndIsDecodedInLinearTime()
    {
        // Each "=?" used to scan to the end of the value for "?=": 1 MiB took 6 s of an I/O thread.
        string value = string.Concat(Enumerable.Repeat(" =?a?a?a", 1024 * 1024 / 8));
        Stopwatch watch = Stopwatch.StartNew();

        string decoded = EncodedWords.Decode(value);

        Assert.Equal(value, decoded);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public void WordsPastTheDecodedLengthAreKeptAsWritten()
    {
        string word = "=?UTF-8?B?SGVsbG8=?=";
        string value = new string('x', EncodedWords.MaxDecodedLength) + word;

        Assert.Equal(value, EncodedWords.Decode(value));
        Assert.Equal("Hello" + new string('x', 10), EncodedWords.Decode(word + new string('x', 10)));
    }
}
