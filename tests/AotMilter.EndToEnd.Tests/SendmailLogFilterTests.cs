using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>Real Sendmail (sendmail -bs over a pipe), aotmilter -f log on a unix socket.</summary>
public sealed class SendmailLogFilterTests(SendmailLogFixture fixture) : IClassFixture<SendmailLogFixture>
{
    [Fact]
    public Task MessageIsDeliveredWithAnXAotMilterHeaderAndItsBodyIntact() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create(body: "First line.\n.A line that starts with a dot.\n\nLast line.\n");

        var smtp = await fixture.Sendmail.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"Sendmail did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Sendmail.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        var added = Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter"));
        Assert.Matches(@"^\d+\.\d+\.\d+", added);
        Assert.Equal("X-AotMilter", delivered.Headers[^1].Name); // a new field name: Sendmail appends it
        Assert.Equal(message.Body, delivered.Body);
    });
}
