using AotMilter;
using AotMilter.Generated.Acme_Milter_Filters;   // the catalog the generator makes for the filters' assembly
using AotMilter.Mta;
using AotMilter.Testing;

namespace Acme.Milter.Tests;

public class SenderCheckFilterTests
{
    private static readonly MilterRegistration Filter = MilterCatalog.Registrations.Named("acme-milter");

    [Fact]
    public async Task ABlockedDomainIsRefusedAtMailFrom()
    {
        await using var mta = new TestMta(MtaProfile.Postfix, Filter);

        MessageResult result = await mta.SendAsync("From: a@spam.example\r\nSubject: offer\r\n\r\nBuy now.\r\n", "a@SPAM.example", "b@example.net");

        Assert.Equal(MessageOutcome.Rejected, result.Outcome);
        Assert.Equal("550 5.7.1 Your domain may not send mail here", result.FinalResponse.ToString());
    }

    [Theory]
    [InlineData(MtaKind.Postfix)]
    [InlineData(MtaKind.Sendmail)]
    public async Task OtherMailIsMarkedAndDelivered(MtaKind kind)
    {
        await using var mta = new TestMta(kind == MtaKind.Postfix ? MtaProfile.Postfix : MtaProfile.Sendmail, Filter);

        MessageResult result = await mta.SendAsync("From: a@example.org\r\nSubject: lunch?\r\n\r\nAt noon.\r\n", "a@example.org", "b@example.net");

        Assert.Equal(MessageOutcome.Delivered, result.Outcome);
        Assert.Equal("checked", result.FinalMessage!.Header("X-Acme-Milter"));
    }
}
