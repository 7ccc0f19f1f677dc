using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>Real Postfix, aotmilter -f log: every delivered message carries X-AotMilter and is otherwise unchanged.</summary>
public sealed class PostfixLogFilterTests(PostfixLogFixture fixture) : IClassFixture<PostfixLogFixture>
{
    [Fact]
    public Task MessageIsDeliveredWithAnXAotMilterHeaderAndItsBodyIntact() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create(body: "First line.\n.A line that starts with a dot.\n\nLast line.\n");

        var smtp = await fixture.Postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"Postfix did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        var added = Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter"));
        Assert.Matches(@"^\d+\.\d+\.\d+", added);
        Assert.Equal("X-AotMilter", delivered.Headers[^1].Name); // added at the end of the header section
        Assert.Equal(message.Body, delivered.Body);
        foreach (var sent in message.Headers)
        {
            Assert.Contains(sent, delivered.Headers);
        }
    });

    [Fact]
    public Task BodyLargerThan64KiBPassesUnchanged() => fixture.VerifyAsync(async () =>
    {
        // More than one milter body chunk (at most 65535 bytes each) and more than one Postfix queue-file record.
        var body = Bodies.Large(200 * 1024);
        var message = TestMessage.Create("sender@example.org", "rcpt@example.com", "large body", body);

        var smtp = await fixture.Postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"Postfix did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter"));
        Assert.Equal(body.Length, delivered.Body.Length);
        Assert.True(body.AsSpan().SequenceEqual(delivered.Body), "the relayed body differs from the body sent");
    });
}
