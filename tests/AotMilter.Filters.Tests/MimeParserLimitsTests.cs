using System.Text;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Tests;

public class MimeParserLimitsTests
{
    private static readonly List<KeyValuePair<string, string>> Mixed = [new("Content-Type", "multipart/mixed; boundary=\"b\"")];

    private static byte[] Repeat(string text, int size)
    {
        var builder = new StringBuilder(size + text.Length);
        while (builder.Length < size)
        {
            builder.Append(text);
        }

        return Encoding.Latin1.GetBytes(builder.ToString(0, size));
    }

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text.ReplaceLineEndings("\r\n"));

    [Fact]
    public void AMegabyteOfEmptyPartsStopsAtMaxPartsAndKeepsThePartsBeforeIt()
    {
        byte[] bomb = Repeat("--b\r\n", 1 << 20);

        MimeEntity message = MimeParser.Parse(bomb, Mixed, MimeLimits.Default, out MimeLimit exceeded);

        Assert.Equal(MimeLimit.Parts, exceeded);
        Assert.Equal(MimeLimits.DefaultMaxParts, message.Children.Count);
        Assert.All(message.Children, part => Assert.Equal(part.ContentStart, part.ContentEnd));
        Assert.False(message.Closed);
    }

    [Fact]
    public void PartsAreCountedAtEveryDepthAndExactlyMaxPartsIsStillWithinTheLimit()
    {
        byte[] body = Ascii("""
            --b
            Content-Type: multipart/alternative; boundary="i"

            --i
            Content-Type: text/plain

            one
            --i
            Content-Type: text/html

            <p>two</p>
            --i--
            --b
            Content-Type: text/plain

            three
            --b--
            """);

        // The alternative, its two parts and the last text part: four parts.
        MimeEntity whole = MimeParser.Parse(body, Mixed, MimeLimits.Default with { MaxParts = 4 }, out MimeLimit within);
        MimeEntity cut = MimeParser.Parse(body, Mixed, MimeLimits.Default with { MaxParts = 3 }, out MimeLimit beyond);

        Assert.Equal(MimeLimit.None, within);
        Assert.True(whole.Closed);
        Assert.Equal(2, whole.Children.Count);
        Assert.Equal(MimeLimit.Parts, beyond);
        MimeEntity alternative = Assert.Single(cut.Children);
        Assert.Equal(2, alternative.Children.Count);
        Assert.True(alternative.Closed, "the parts before the limit are complete");
        Assert.Equal("one", Encoding.ASCII.GetString(body.AsSpan(alternative.Children[0].ContentStart..alternative.Children[0].ContentEnd)));
    }

    [Theory]
    [InlineData(1000, MimeLimit.None)]
    [InlineData(1001, MimeLimit.HeaderFields)]
    public void APartWithMoreHeaderFieldsThanTheLimitStopsTheParse(int fields, MimeLimit expected)
    {
        var part = new StringBuilder("--b\r\n");
        for (int i = 0; i < fields - 1; i++)
        {
            part.Append("X-Junk: ").Append(i).Append("\r\n");
        }

        part.Append("Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--b--\r\n");
        byte[] body = Encoding.ASCII.GetBytes(part.ToString());

        MimeEntity message = MimeParser.Parse(body, Mixed, MimeLimits.Default with { MaxHeaderBytes = 1 << 20 }, out MimeLimit exceeded);

        Assert.Equal(expected, exceeded);
        Assert.Equal(expected == MimeLimit.None ? 1 : 0, message.Children.Count);
    }

    [Fact]
    public void OnlyTheFirstMimeFieldsOfAPartAreKeptHoweverManyItHas()
    {
        var part = new StringBuilder("--b\r\n");
        for (int i = 0; i < 900; i++)
        {
            part.Append(i % 2 == 0 ? "Content-Type: text/html\r\n" : "X-Junk: filler\r\n");
        }

        part.Append("Content-ID: <late@example>\r\n\r\nhello\r\n--b--\r\n");
        byte[] body = Encoding.ASCII.GetBytes(part.ToString());

        MimeEntity message = MimeParser.Parse(body, Mixed, MimeLimits.Default, out MimeLimit exceeded);

        Assert.Equal(MimeLimit.None, exceeded);
        MimeEntity only = Assert.Single(message.Children);
        Assert.Equal(["Content-Type", "Content-ID"], only.Headers.Select(f => f.Name));
        Assert.Equal("text/html", only.ContentType.MediaType);
    }

    [Fact]
    public void AHeaderBlockLargerThanTheLimitStopsTheParseEvenInsideOneFoldedField()
    {
        byte[] folded = [.. Ascii("--b\r\nX-Long: start\r\n"), .. Repeat(" more\r\n", 8 << 20), .. Ascii("\r\nbody\r\n--b--\r\n")];
        byte[] wide = [.. Ascii("--b\r\nX-Wide: "), .. Repeat("w", 70 * 1024), .. Ascii("\r\n\r\nbody\r\n--b--\r\n")];

        MimeParser.Parse(folded, Mixed, MimeLimits.Default, out MimeLimit foldedExceeded);
        MimeParser.Parse(wide, Mixed, MimeLimits.Default, out MimeLimit wideExceeded);
        MimeParser.Parse(wide, Mixed, MimeLimits.Default with { MaxHeaderBytes = 128 * 1024 }, out MimeLimit wideAllowed);

        Assert.Equal(MimeLimit.HeaderBytes, foldedExceeded);
        Assert.Equal(MimeLimit.HeaderBytes, wideExceeded);
        Assert.Equal(MimeLimit.None, wideAllowed);
    }

    [Fact]
    public void TheMessageHeaderBlockOfAWholeMessageIsHeldToTheSameLimits()
    {
        byte[] message = [.. Repeat("X-Junk: filler\r\n", 16 * 2000), .. Ascii("\r\nbody\r\n")];

        MimeParser.ParseMessage(message, MimeLimits.Default, out MimeLimit exceeded);

        Assert.Equal(MimeLimit.HeaderFields, exceeded);
    }

    [Fact]
    public void DeepNestingIsReadInOnePassAndStaysWithinThePartsOfEachLevel()
    {
        // Each level's multipart holds the next one; the innermost holds lines that look like delimiters of none.
        var body = new StringBuilder();
        for (int level = 0; level < MimeParser.MaxDepth; level++)
        {
            body.Append($"--b{level}\r\nContent-Type: multipart/mixed; boundary=\"b{level + 1}\"\r\n\r\n");
        }

        body.Append($"--b{MimeParser.MaxDepth}\r\nContent-Type: text/plain\r\n\r\n");
        body.Insert(body.Length, "--b99x\r\n", 1000);
        body.Append($"--b{MimeParser.MaxDepth}--\r\n");
        for (int level = MimeParser.MaxDepth - 1; level >= 0; level--)
        {
            body.Append($"--b{level}--\r\n");
        }

        byte[] bytes = Encoding.ASCII.GetBytes(body.ToString());
        MimeEntity message = MimeParser.Parse(bytes, [new("Content-Type", "multipart/mixed; boundary=\"b0\"")], MimeLimits.Default, out MimeLimit exceeded);

        Assert.Equal(MimeLimit.None, exceeded);
        MimeEntity entity = message;
        for (int level = 0; level < MimeParser.MaxDepth; level++)
        {
            Assert.True(entity.Closed, $"level {level} is closed");
            entity = Assert.Single(entity.Children);
        }

        // MaxDepth: the innermost multipart is kept whole, as an opaque leaf.
        Assert.Empty(entity.Children);
        Assert.Contains("--b99x", Encoding.ASCII.GetString(bytes.AsSpan(entity.ContentStart..entity.ContentEnd)));
    }

    [Fact]
    public void AnOuterDelimiterEndsEveryInnerPartAndAHeaderNeverRunsIntoADelimiterLine()
    {
        // The boundary has a colon, so its delimiter line looks like a header field; the part has no empty line.
        byte[] body = Ascii("""
            --a:b
            Content-Type: multipart/alternative; boundary="in"

            --in
            Content-Type: text/plain
            Content-Transfer-Encoding: 7bit
            --a:b
            Content-Type: text/plain

            last
            --a:b--
            """);

        MimeEntity message = MimeParser.Parse(body, [new("Content-Type", "multipart/mixed; boundary=\"a:b\"")], MimeLimits.Default, out MimeLimit exceeded);

        Assert.Equal(MimeLimit.None, exceeded);
        Assert.True(message.Closed);
        Assert.Equal(2, message.Children.Count);
        MimeEntity alternative = message.Children[0];
        Assert.False(alternative.Closed);
        MimeEntity inner = Assert.Single(alternative.Children);
        Assert.Equal(inner.ContentStart, inner.ContentEnd);
        Assert.Equal(alternative.ContentEnd, inner.ContentEnd);
        MimeHeaderField encoding = inner.Find("Content-Transfer-Encoding")!.Value;
        Assert.Equal("Content-Transfer-Encoding: 7bit", Encoding.ASCII.GetString(body.AsSpan(encoding.Start..encoding.End)));
        Assert.Equal("last", Encoding.ASCII.GetString(body.AsSpan(message.Children[1].ContentStart..message.Children[1].ContentEnd)));
    }

    [Theory]
    [InlineData("--pad  \r\nhello\r\n--pad  --\r\n", true)]
    [InlineData("--pad    \r\nhello\r\n--pad  --  \r\n", true)]
    [InlineData("--pad\r\nhello\r\n--pad--\r\n", false)]
    public void ABoundaryThatEndsInSpacesIsMatchedWithItsSpaces(string body, bool found)
    {
        MimeEntity message = MimeParser.Parse(Encoding.ASCII.GetBytes(body), [new("Content-Type", "multipart/mixed; boundary=\"pad  \"")], MimeLimits.Default, out _);

        Assert.Equal(found, message.HasDelimiters);
        Assert.Equal(found, message.Closed);
    }
}
