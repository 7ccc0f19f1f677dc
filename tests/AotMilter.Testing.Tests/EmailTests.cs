using System.Text;
using AotMilter.Mta;

namespace AotMilter.Testing.Tests;

public class EmailTests
{
    [Fact]
    public void HeadersAreSplitAsAnMTAReadsThem()
    {
        Email email = Email.Parse("Subject: folded\n\tover two lines\nX-Spaced  : value\nX-Empty:\n\nbody\n");

        Assert.Equal(["Subject", "X-Spaced", "X-Empty"], email.Headers.Select(h => h.Name));
        Assert.Equal(" folded\n\tover two lines", email.Headers[0].Value);
        Assert.Equal("folded over two lines", email.Headers[0].UnfoldedValue);
        Assert.Equal("Subject: folded\r\n\tover two lines", Encoding.ASCII.GetString(email.Headers[0].Raw));
        Assert.Equal(" value", email.Headers[1].Value);
        Assert.Equal("", email.Headers[2].Value);
    }

    [Fact]
    public void BodyLinesEndInCRLFWhateverTheFileUsedAndALastLineWithoutOneGetsOne()
    {
        Email email = Email.Parse("Subject: x\n\nfirst\r\nsecond\nthird");

        Assert.Equal("first\r\nsecond\r\nthird\r\n", email.BodyText);
    }

    [Fact]
    public void ALineThatIsNotAHeaderEndsTheHeaderSectionAndStartsTheBody()
    {
        Email email = Email.Parse("Subject: x\r\nnot a header\r\nX-Late: y\r\n\r\nbody\r\n");

        Assert.Equal(["Subject"], email.Headers.Select(h => h.Name));
        Assert.Equal("not a header\r\nX-Late: y\r\n\r\nbody\r\n", email.BodyText);
    }

    [Fact]
    public void AnMboxFromLineIsKeptApart()
    {
        Email email = Email.Parse("From sender@example.org Tue Nov 24 03:00:00 2026\nSubject: x\n\nbody\n");

        Assert.Equal("From sender@example.org Tue Nov 24 03:00:00 2026", Encoding.ASCII.GetString(email.MboxFromLine!));
        Assert.Equal("x", email.Header("Subject"));
    }

    [Fact]
    public void EightBitAndNULBytesSurvive()
    {
        byte[] bytes = [.. "Subject: caf\u00e9\r\n\r\n"u8.ToArray(), 0xFF, 0x00, 0x41, 0x0D, 0x0A];

        Email email = Email.Parse(bytes);

        Assert.Equal(bytes, email.ToBytes());
        Assert.Equal("café", email.Header("Subject"));
    }

    [Fact]
    public void CreateBuildsAMessageFromFieldsAndText()
    {
        Email email = Email.Create([("From", "a@example.org"), ("Subject", "hi")], "line\n");

        Assert.Equal("From: a@example.org\r\nSubject: hi\r\n\r\nline\r\n", Encoding.ASCII.GetString(email.ToBytes()));
    }

    [Fact]
    public void SmtpAddressesParseWithTheirParameters()
    {
        SmtpAddress address = SmtpAddress.Parse("<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net");

        Assert.Equal("b@example.net", address.Address);
        Assert.Equal("<b@example.net>", address.Path);
        Assert.Equal("SUCCESS,FAILURE", address.Parameter("notify"));
        Assert.True(address.Is("B@Example.Net"));
    }
}
