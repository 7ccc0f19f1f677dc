using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>Real Postfix, aotmilter -f bench: RCPT reject@example.com is refused, other mail gets X-Bench.</summary>
public sealed class PostfixBenchFilterTests(PostfixBenchFixture fixture) : IClassFixture<PostfixBenchFixture>
{
    /// <summary>
    /// Header fields Postfix passes to the milter besides the ones the client sent: none. smtpd prepends a Received:
    /// field (it is in the relayed message, see the test) but Postfix never shows its own Received: to a milter.
    /// cleanup does show the fields it adds for a missing Message-Id, Date or From (checked with a message carrying
    /// only Subject: the milter saw Subject, Message-Id, Date, From), which is why the test sends all of them.
    /// </summary>
    private const int HeadersPostfixAdds = 0;

    [Fact]
    public Task RecipientRejectAtExampleComGets550571() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create(to: "rcpt@example.com");

        var smtp = await fixture.Postfix.SendAsync(
            "sender@example.org", ["reject@example.com", "rcpt@example.com"], message.Bytes);

        var rejected = smtp.RecipientReply("reject@example.com");
        Assert.Equal(550, rejected.Code);
        Assert.Contains("5.7.1", rejected.Text);
        Assert.Contains("Recipient rejected by bench filter", rejected.Text);
        Assert.True(smtp.RecipientReply("rcpt@example.com").IsPositive, $"rcpt@example.com: {smtp.RecipientReply("rcpt@example.com")}");
        Assert.True(smtp.Accepted, $"the message to the other recipient was not accepted: {smtp.FirstFailure}");
        var delivered = await fixture.Postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Equal(["<rcpt@example.com>"], delivered.Recipients.Select(r => r.Split(' ')[0]));
    });

    [Fact]
    public Task DeliveredMessageGetsXBenchWithTheNumberOfHeadersTheMilterSaw() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create(extraHeaders: [new("X-Extra-One", "1"), new("X-Extra-Two", "2")]);

        var smtp = await fixture.Postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"Postfix did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        var bench = Assert.Single(delivered.Parsed.HeaderValues("X-Bench"));
        Assert.Equal((message.Headers.Count + HeadersPostfixAdds).ToString(), bench);
        Assert.Equal("Received", delivered.Headers[0].Name);
        Assert.Contains("by mta.e2e.test (Postfix)", delivered.Headers[0].Value);
        Assert.Equal(message.Body, delivered.Body);
    });
}
