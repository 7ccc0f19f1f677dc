using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>Real Sendmail (sendmail -bs over a pipe), aotmilter -f bench on a TCP socket.</summary>
public sealed class SendmailBenchFilterTests(SendmailBenchFixture fixture) : IClassFixture<SendmailBenchFixture>
{
    [Fact]
    public Task RecipientRejectAtExampleComGets550571() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create(to: "rcpt@example.com");

        var smtp = await fixture.Sendmail.SendAsync(
            "sender@example.org", ["reject@example.com", "rcpt@example.com"], message.Bytes);

        var rejected = smtp.RecipientReply("reject@example.com");
        Assert.Equal(550, rejected.Code);
        Assert.Contains("5.7.1", rejected.Text);
        Assert.Contains("Recipient rejected by bench filter", rejected.Text);
        Assert.True(smtp.Accepted, $"the message to the other recipient was not accepted: {smtp.FirstFailure}");
        var delivered = await fixture.Sendmail.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Equal(["<rcpt@example.com>"], delivered.Recipients.Select(r => r.Split(' ')[0]));
        // Sendmail, like Postfix, does not show the milter its own Received: field (nor the Date/From/Message-Id it
        // adds to a message lacking them): the milter sees exactly the fields the client sent.
        Assert.Equal(message.Headers.Count.ToString(), Assert.Single(delivered.Parsed.HeaderValues("X-Bench")));
        Assert.Equal("Received", delivered.Headers[0].Name);
        Assert.Contains($"by {SendmailInstance.HostName}", delivered.Headers[0].Value);
    });
}
