using System.Text;
using AotMilter.Filters.Disclaimer;
using AotMilter.Filters.Mime;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Server.Configuration;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

/// <summary>Inputs on which fuzz/ found a bug, each fed as found (target named in the test), with what must happen now.</summary>
public class FuzzFindingsTests
{
    private static readonly KeyValuePair<string, string>[] MultipartQ = [new("Content-Type", "multipart/mixed; boundary=q")];

    [Fact]
    public void MimeAPartWithoutTheEmptyLineAfterItsFieldsDoesNotGetTheDisclaimerInItsLastField()
    {
        // The disclaimer was appended to the part's Content-Type field: "text/plain--", and the part was no longer text.
        byte[] body = "--q\nContent-Type: text/plain\n--q\n\n--q--"u8.ToArray();

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.NoTextPart, result.Outcome);
        Assert.Null(result.NewBodyArray(body));
        Assert.Contains(result.Notes, n => n.Contains("no empty line ends its header block", StringComparison.Ordinal));
    }

    [Fact]
    public void MimeReEncodedContentOfAPartWithoutTheEmptyLineCannotBecomeAHeaderField()
    {
        // The content's first line is not a field ("=3A" is a colon only once decoded); re-encoded, it was one, and
        // the part became application/pdf.
        byte[] body = Encoding.ASCII.GetBytes("--q\nContent-Transfer-Encoding: quoted-printable\nContent-Type=3A application/pdf\n--q--\n");

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.NoTextPart, result.Outcome);
        Assert.Null(result.NewBodyArray(body));
    }

    [Fact]
    public void MimeAnEmptyQuotedPrintablePartGetsTheDisclaimer()
    {
        // QuotedPrintable.Decode threw on empty input (ArrayBufferWriter's capacity must be positive).
        byte[] message = "C^ntent-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: Quoted-Printable\n\n"u8.ToArray();
        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.SplitKeepingEndings(message);

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, headers);

        Assert.Equal(DisclaimerOutcome.Added, result.Outcome);
        Assert.Empty(QuotedPrintable.Decode([]));
    }

    [Fact]
    public async Task MimeAnEmptyEncodedWordInAHeaderARuleReadsDoesNotFailTheRulesFilter()
    {
        // The same exception, from the rules filter's header callback, turned the message into a tempfail.
        await using FilterHost host = FilterHost.Start("[rules]\nheader = Subject /viagra/i reject\n", "rules");
        await using MilterClient mta = await host.ConnectAsync();

        EndOfMessageResult? result = await mta.SendMessageAsync("a@example.net", ["b@example.org"], "Subject: =?utf-8?q??=\n\nhello\n"u8.ToArray());

        Assert.Equal(MilterReply.Continue, result!.Reply);
    }

    [Theory]
    // The mime target's five findings, reduced: the part's content ends in "--q" + CR (the CRLF before the delimiter
    // belongs to it). The disclaimer, appended with bare LFs, completed a CRLF after "--q" and made a delimiter of it.
    [InlineData("--q\r\nContent-Type: text/plain\r\n\r\nhi\n--q\r\r\n--q--\r\n")]
    // The same with HTML: the disclaimer goes before "</body>", so a line break lands right after "--q".
    [InlineData("--q\r\nContent-Type: text/html\r\n\r\n<html><body>hi\r\n--q</body></html>\r\n--q--\r\n")]
    // "--=\r\nq" is a soft line break: decoded, the text has a line "--q", which re-encoding writes as it is.
    [InlineData("--q\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhi\r\n--=\r\nq\r\nbye\r\n--q--\r\n")]
    public void MimeADisclaimerThatWouldTurnALineIntoADelimiterLeavesTheMessageAsItWas(string message)
    {
        byte[] body = Encoding.ASCII.GetBytes(message);
        Assert.Single(MimeParser.Parse(body, MultipartQ).Children);

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.Malformed, result.Outcome);
        Assert.Null(result.NewBodyArray(body));
        Assert.Contains(result.Notes, n => n.Contains("MIME boundary", StringComparison.Ordinal));
    }

    [Fact]
    public void MimeABoundaryLikeLineTheDisclaimerDoesNotTouchStillGetsTheDisclaimer()
    {
        // "--qq" and "--q x" are not delimiters of "q" and stay what they were; only touched lines are checked.
        byte[] body = "--q\r\nContent-Type: text/plain\r\n\r\n--qq\r\n--q x\r\nhi\r\n--q--\r\n"u8.ToArray();

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.Added, result.Outcome);
        MimeEntity after = MimeParser.Parse(result.NewBodyArray(body), MultipartQ);
        Assert.Single(after.Children);
        Assert.True(after.Closed);
    }

    [Theory]
    [InlineData("sender-domain = 5/99999999w")]
    [InlineData("sender = 5/315360001s")]
    public void ConfigAWindowTooLongForATimeSpanIsAnErrorNotAnException(string line)
    {
        // Found by the config target: 5/99999999w passed the ten-year check in its own unit, then overflowed TimeSpan.
        SettingsLoadResult result = FilterHost.Load("[ratelimit]\n" + line + "\n", [FilterHost.Filter("ratelimit")]);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Field.StartsWith("ratelimit.", StringComparison.Ordinal));
    }
}
