using System.Text;
using AotMilter.Filters.Disclaimer;

namespace AotMilter.Filters.Tests;

/// <summary>Inputs on which fuzz/ found a bug, each fed as found (target named in the test), with what must happen now.</summary>
public class FuzzFindingsTests
{
    private static readonly KeyValuePair<string, string>[] MultipartQ = [new("Content-Type", "multipart/mixed; boundary=q")];

    [Fact]
    public void Mime_a_part_without_the_empty_line_after_its_fields_does_not_get_the_disclaimer_in_its_last_field()
    {
        // The disclaimer was appended to the part's Content-Type field: "text/plain--", and the part was no longer text.
        byte[] body = "--q\nContent-Type: text/plain\n--q\n\n--q--"u8.ToArray();

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.NoTextPart, result.Outcome);
        Assert.Null(result.Body);
        Assert.Contains(result.Notes, n => n.Contains("no empty line ends its header block", StringComparison.Ordinal));
    }

    [Fact]
    public void Mime_re_encoded_content_of_a_part_without_the_empty_line_cannot_become_a_header_field()
    {
        // The content's first line is not a field ("=3A" is a colon only once decoded); re-encoded, it was one, and
        // the part became application/pdf.
        byte[] body = Encoding.ASCII.GetBytes("--q\nContent-Transfer-Encoding: quoted-printable\nContent-Type=3A application/pdf\n--q--\n");

        DisclaimerResult result = DisclaimerRewriterTests.Rewriter.Rewrite(body, MultipartQ);

        Assert.Equal(DisclaimerOutcome.NoTextPart, result.Outcome);
        Assert.Null(result.Body);
    }
}
