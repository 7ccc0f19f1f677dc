using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The MTA's fallback when the milter is down (nothing listens on its socket): Postfix's milter_default_action,
/// Sendmail's INPUT_MAIL_FILTER F= flag. Tempfail must give a 4xx (this also proves the harness really routes sessions
/// through the configured milter: if it did not, the message would be accepted and every milter test would prove
/// nothing), reject a 5xx, accept (Sendmail: no flag) must deliver the message untouched.
/// </summary>
public static class MilterDown
{
    public static async Task CheckAsync(MtaFixture fixture, IMtaInstance mta, string defaultAction)
    {
        await fixture.VerifyAsync(async () =>
        {
            var message = TestMessage.Create();

            // A refusal may come as the greeting (both MTAs answer 554 when they reject at connect) or at a later command.
            var (client, greeting) = await mta.ConnectAsync();
            SmtpTransaction? smtp = null;
            await using (client)
            {
                if (greeting.Code == 220)
                {
                    smtp = await client.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);
                    await client.QuitAsync();
                }
            }

            var failure = greeting.Code == 220 ? smtp!.FirstFailure : greeting;
            switch (defaultAction)
            {
                case "tempfail":
                    Assert.True(failure?.IsTransientFailure == true, $"expected a 4xx reply, got {failure?.ToString() ?? "acceptance"}");
                    break;
                case "reject":
                    Assert.True(failure?.IsPermanentFailure == true, $"expected a 5xx reply, got {failure?.ToString() ?? "acceptance"}");
                    break;
                default:
                    Assert.True(smtp?.Accepted == true, $"expected the message to pass unfiltered, got {failure}");
                    var delivered = await mta.WaitForAsync(message.Matches, MtaFixture.DeliveryTimeout, "the message");
                    Assert.Equal(message.Body, delivered.Body);
                    Assert.Equal(message.Headers, delivered.Headers.Skip(1));
                    return;
            }

            Assert.Equal(0, mta.Sink.Count);
        });
    }
}

public sealed class PostfixMilterDownTempfailTests(PostfixMilterDownTempfailFixture fixture) : IClassFixture<PostfixMilterDownTempfailFixture>
{
    [Fact]
    public Task MilterDefaultActionTempfailGives4xx() => MilterDown.CheckAsync(fixture, fixture.Postfix, fixture.DefaultAction);
}

public sealed class PostfixMilterDownRejectTests(PostfixMilterDownRejectFixture fixture) : IClassFixture<PostfixMilterDownRejectFixture>
{
    [Fact]
    public Task MilterDefaultActionRejectGives5xx() => MilterDown.CheckAsync(fixture, fixture.Postfix, fixture.DefaultAction);
}

public sealed class PostfixMilterDownAcceptTests(PostfixMilterDownAcceptFixture fixture) : IClassFixture<PostfixMilterDownAcceptFixture>
{
    [Fact]
    public Task MilterDefaultActionAcceptDeliversUnfiltered() => MilterDown.CheckAsync(fixture, fixture.Postfix, fixture.DefaultAction);
}

public sealed class SendmailMilterDownTempfailTests(SendmailMilterDownTempfailFixture fixture) : IClassFixture<SendmailMilterDownTempfailFixture>
{
    [Fact]
    public Task FlagTGives4xx() => MilterDown.CheckAsync(fixture, fixture.Sendmail, fixture.DefaultAction);
}

public sealed class SendmailMilterDownRejectTests(SendmailMilterDownRejectFixture fixture) : IClassFixture<SendmailMilterDownRejectFixture>
{
    [Fact]
    public Task FlagRGives5xx() => MilterDown.CheckAsync(fixture, fixture.Sendmail, fixture.DefaultAction);
}

public sealed class SendmailMilterDownAcceptTests(SendmailMilterDownAcceptFixture fixture) : IClassFixture<SendmailMilterDownAcceptFixture>
{
    [Fact]
    public Task NoFlagDeliversUnfiltered() => MilterDown.CheckAsync(fixture, fixture.Sendmail, fixture.DefaultAction);
}
