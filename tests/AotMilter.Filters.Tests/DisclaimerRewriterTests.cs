using System.Text;
using AotMilter.Filters.Disclaimer;
using AotMilter.Filters.Mime;
using AotMilter.Filters.Tests.Infrastructure;

namespace AotMilter.Filters.Tests;

public class DisclaimerRewriterTests
{
    internal const string Mark = "aotmilter-disclaimer-test";
    internal static readonly DisclaimerRewriter Rewriter = new($"--\nThis message is confidential ({Mark}).", $"<p>This message is confidential ({Mark}).</p>");

    /// <summary>The project's own messages and how many parts each should get the disclaimer in (0: left alone).</summary>
    public static TheoryData<string, int, DisclaimerOutcome> OwnMessages() => new()
    {
        { "01-plain-ascii.eml", 1, DisclaimerOutcome.Added },
        { "02-plain-no-mime.eml", 1, DisclaimerOutcome.Added },
        { "03-html-only.eml", 1, DisclaimerOutcome.Added },
        { "04-alternative.eml", 2, DisclaimerOutcome.Added },
        { "05-mixed-alternative-pdf.eml", 2, DisclaimerOutcome.Added },
        { "06-mixed-text-attachment.eml", 1, DisclaimerOutcome.Added },
        { "07-nested-mixed-related-alternative.eml", 2, DisclaimerOutcome.Added },
        { "08-qp-utf8.eml", 1, DisclaimerOutcome.Added },
        { "09-base64-html.eml", 1, DisclaimerOutcome.Added },
        { "10-latin1-8bit.eml", 1, DisclaimerOutcome.Added },
        { "11-windows-1252-qp-in-alternative.eml", 2, DisclaimerOutcome.Added },
        { "12-koi8r-base64.eml", 1, DisclaimerOutcome.Added },
        { "13-shift-jis.eml", 1, DisclaimerOutcome.Added },
        { "14-multipart-signed.eml", 0, DisclaimerOutcome.Signed },
        { "15-smime-pkcs7.eml", 0, DisclaimerOutcome.Signed },
        { "16-forwarded-rfc822.eml", 1, DisclaimerOutcome.Added },
        { "17-report.eml", 0, DisclaimerOutcome.NoTextPart },
        { "18-plain-no-final-newline.eml", 1, DisclaimerOutcome.Added },
        { "lf-19-alternative-bare-lf.eml", 2, DisclaimerOutcome.Added },
        { "20-7bit-needs-qp.eml", 1, DisclaimerOutcome.Added },
    };

    [Theory]
    [MemberData(nameof(OwnMessages))]
    public void EachVisibleTextPartGetsTheDisclaimerExactlyOnceAndEveryOtherByteStays(string file, int parts, DisclaimerOutcome outcome)
    {
        byte[] message = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Messages", file));
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.SplitKeepingEndings(message);

        DisclaimerResult result = Rewriter.Rewrite(body, headers);

        Assert.Equal(outcome, result.Outcome);
        Assert.Equal(parts, MimeCheck.Verify(body, result.NewBodyArray(body) ?? body, headers, Mark));
        if (outcome == DisclaimerOutcome.Added)
        {
            Assert.Equal(parts, result.PartsChanged);
        }
    }

    [Fact]
    public void ANonAsciiDisclaimerTurnsA7bitPartIntoQuotedPrintableAndSkipsUsAscii()
    {
        var rewriter = new DisclaimerRewriter($"Vertraulich – {Mark}", $"<p>Vertraulich – {Mark}</p>");
        byte[] message = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Messages", "20-7bit-needs-qp.eml"));
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.SplitKeepingEndings(message);
        DisclaimerResult result = rewriter.Rewrite(body, headers);
        Assert.Equal(1, MimeCheck.Verify(body, result.NewBodyArray(body)!, headers, Mark));
        string text = Encoding.UTF8.GetString(result.NewBodyArray(body)!);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable\r\n", text);
        Assert.Contains("Vertraulich =E2=80=93", text);

        byte[] ascii = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Messages", "01-plain-ascii.eml"));
        (headers, body) = MessageFile.SplitKeepingEndings(ascii);
        DisclaimerResult left = rewriter.Rewrite(body, headers);
        Assert.Equal(DisclaimerOutcome.NoTextPart, left.Outcome);
        Assert.Contains(left.Notes, n => n.Contains("cannot represent"));
    }

    [Fact]
    public void HtmlThatCannotHoldACharacterGetsACharacterReference()
    {
        var rewriter = new DisclaimerRewriter($"x {Mark}", $"<p>10 € {Mark}</p>");
        byte[] message = Encoding.ASCII.GetBytes("<html><body>hi</body></html>\r\n");
        DisclaimerResult result = rewriter.Rewrite(message, [new("Content-Type", "text/html; charset=iso-8859-1")]);
        Assert.Contains("<p>10 &#8364; aotmilter-disclaimer-test</p>\r\n</body>", Encoding.Latin1.GetString(result.NewBodyArray(message)!));
    }

    [SkippableTheory]
    [MemberData(nameof(CorpusFiles))]
    public void CorpusMessagesParseAfterTheRewriteAndNeverLoseContent(string file)
    {
        Skip.If(file.Length == 0, $"the shared corpus is not present at {CorpusDirectory()}; these checks run when ../shared/corpus exists");
        byte[] message = File.ReadAllBytes(Path.Combine(CorpusDirectory(), file));
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.Split(message);

        DisclaimerResult result = Rewriter.Rewrite(body, headers);

        int changed = MimeCheck.Verify(body, result.NewBodyArray(body) ?? body, headers, Mark);
        Assert.Equal(result.Outcome == DisclaimerOutcome.Added ? result.PartsChanged : 0, changed);
        MimeEntity top = MimeParser.Parse(body, headers);
        if (DisclaimerRewriter.IsSigned(top.ContentType))
        {
            Assert.Equal(DisclaimerOutcome.Signed, result.Outcome);
        }

        if (file.StartsWith("malformed-", StringComparison.Ordinal) && result.Outcome != DisclaimerOutcome.Added)
        {
            Assert.Null(result.NewBodyArray(body));
        }
    }

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        string dir = CorpusDirectory();
        if (!Directory.Exists(dir))
        {
            data.Add("");
            return data;
        }

        foreach (string path in Directory.GetFiles(dir, "*.eml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    internal static string CorpusDirectory() => Path.GetFullPath(Path.Combine(ConfigFileTests.RepoRoot(), "..", "shared", "corpus"));
}
