using AotMilter.Generated.AotMilter_Testing_Tests;
using AotMilter.Mta;

namespace AotMilter.Testing.Tests;

// The example of the README's "Testing your filter" section, as it is written there.
public class NoSpamSubjectTests
{
    private static readonly MilterRegistration Filter = MilterCatalog.Registrations.Named("no-spam-subject");

    [Fact]
    public async Task SpamIsRejectedAtEndOfMessage()
    {
        await using var mta = new TestMta(MtaProfile.Postfix, Filter);

        MessageResult result = await mta.SendAsync(
            "From: a@example.org\r\nSubject: SPAM offer\r\n\r\nBuy now.\r\n", "a@example.org", "b@example.net");

        Assert.Equal(MessageOutcome.Rejected, result.Outcome);
        Assert.Equal("550 5.7.1 Spam is not welcome here", result.FinalResponse.ToString());
        Assert.Null(result.FinalMessage);
    }

    [Theory]
    [InlineData(MtaKind.Postfix)]
    [InlineData(MtaKind.Sendmail)]
    public async Task OtherMailIsMarkedAndDelivered(MtaKind kind)
    {
        await using var mta = new TestMta(kind == MtaKind.Postfix ? MtaProfile.Postfix : MtaProfile.Sendmail, Filter);
        Email message = Email.Parse("From: a@example.org\r\nSubject: lunch?\r\n\r\nAt noon.\r\n");

        MessageResult result = await mta.SendAsync(message, "a@example.org", "b@example.net");

        Assert.Equal(MessageOutcome.Delivered, result.Outcome);
        Assert.Equal("X-Checked-By", Assert.Single(result.AddedHeaders).Name);
        Assert.Equal("no-spam-subject", result.FinalMessage!.Header("X-Checked-By"));
        Assert.Equal("At noon.\r\n", result.FinalMessage.BodyText);
    }

    [Fact]
    public async Task StepByStepWithAnOldPostfix()
    {
        await using var mta = new TestMta(MtaProfile.Postfix.WithMilterProtocol(2), Filter);
        await using MtaSession session = await mta.OpenSessionAsync();

        await session.ConnectAsync();
        await session.HeloAsync("client.example.org");
        await session.MailFromAsync("a@example.org", "SIZE=1000");
        await session.RcptToAsync("b@example.net");
        await session.DataAsync();
        StageResult header = await session.HeaderAsync("Subject", "more SPAM");
        await session.EndOfHeadersAsync();
        await session.BodyAsync("Buy now.\n");
        MessageResult result = await session.EndOfMessageAsync();

        Assert.Equal(MilterReplyKind.Continue, header.Reply!.Kind);   // version 2 has no "no reply" flags
        Assert.True(result.FinalResponse.IsPermanentFailure);
    }
}
