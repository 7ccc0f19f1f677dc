using AotMilter.EndToEnd.Tests.Fixtures;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// Postfix pointed at a milter socket nobody listens on, milter_default_action = tempfail: mail must be refused with a
/// 4xx. This proves the harness really routes sessions through the configured milter (if it did not, the message would
/// be accepted and the milter tests would prove nothing).
/// </summary>
public sealed class PostfixMilterDownTests(PostfixMilterDownFixture fixture) : IClassFixture<PostfixMilterDownFixture>
{
    [Fact]
    public Task Message_is_tempfailed_when_the_milter_is_not_running() => fixture.VerifyAsync(async () =>
    {
        var message = Harness.TestMessage.Create();

        var smtp = await fixture.Postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        var failure = smtp.FirstFailure;
        Assert.NotNull(failure);
        Assert.True(failure.IsTransientFailure, $"expected a 4xx reply, got {failure}");
        Assert.False(smtp.Accepted);
        Assert.Equal(0, fixture.Postfix.Sink.Count);
    });
}
