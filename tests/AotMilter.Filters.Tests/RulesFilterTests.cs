using System.Text;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class RulesFilterTests
{
    private const string Config = """
        [rules]
        header = Subject /\bviagra\b/i reject "550 5.7.1 No spam here"
        header = X-Spam-Flag YES quarantine "flagged upstream" add-header X-Held yes
        header = X-Drop * discard
        header = X-Later * tempfail
        body = "wire transfer" prefix-subject "[SUSPICIOUS] " add-header X-Rules suspicious
        body = /secret\s+plan/i redirect legal@example.com
        header = From @partner.example bcc archive@example.com
        header = To change-me@example.org change-sender bounces@example.com
        """;

    private static async Task<EndOfMessageResult?> SendAsync(FilterHost host, string message, string[]? to = null)
    {
        await using MilterClient mta = await host.ConnectAsync();
        return await mta.SendMessageAsync("a@example.net", to ?? ["b@example.org"], Encoding.UTF8.GetBytes(message));
    }

    [Fact]
    public async Task AHeaderRegexRejectsWithItsReplyEvenWhenTheSubjectIsEncoded()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, "Subject: =?UTF-8?B?QnV5IFZJQUdSQSBub3c=?=\n\nhello\n");
        Assert.Equal("replycode \"550 5.7.1 No spam here\"", result!.Reply.ToString());
    }

    [Fact]
    public async Task QuarantineAndAddHeaderAreAppliedAtEndOfMessage()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, "Subject: hi\nX-Spam-Flag: YES\n\nhello\n");
        Assert.Equal(MilterReply.Continue, result!.Reply);
        Assert.Contains(new Modification.Quarantine("flagged upstream"), result.Modifications);
        Assert.Contains(new Modification.AddHeader("X-Held", "yes"), result.Modifications);
    }

    [Theory]
    [InlineData("X-Drop: 1", MilterReplyKind.Discard)]
    [InlineData("X-Later: 1", MilterReplyKind.ReplyCode)]
    public async Task HeaderRulesDiscardAndTempfail(string header, MilterReplyKind expected)
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, $"Subject: x\n{header}\n\nbody\n");
        Assert.Equal(expected, result!.Reply.Kind);
    }

    [Fact]
    public async Task ABodyLiteralInQuotedPrintablePrefixesTheSubjectAndTagsTheMessage()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, "Subject: Payment\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nPlease make the wire =\ntransfer today.\n");
        Assert.Contains(new Modification.ChangeHeader(1, "Subject", "[SUSPICIOUS] Payment"), result!.Modifications);
        Assert.Contains(new Modification.AddHeader("X-Rules", "suspicious"), result.Modifications);
    }

    [Fact]
    public async Task ABodyRegexInABase64PartRedirectsEveryRecipient()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        string b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes("Our Secret   Plan is ready.\r\n"));
        string message = $"Subject: x\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{b64}\n--b1--\n";
        EndOfMessageResult? result = await SendAsync(host, message, ["one@example.org", "two@example.org"]);
        Assert.Equal(
        [
            new Modification.DeleteRecipient("<one@example.org>"),
            new Modification.DeleteRecipient("<two@example.org>"),
            new Modification.AddRecipient("<legal@example.com>"),
        ], result!.Modifications);
    }

    [Fact]
    public async Task BccAddsARecipientAndChangeSenderReplacesTheSender()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, "From: Partner <p@partner.example>\nTo: change-me@example.org\nSubject: x\n\nbody\n");
        Assert.Contains(new Modification.AddRecipient("<archive@example.com>"), result!.Modifications);
        Assert.Contains(new Modification.ChangeSender("<bounces@example.com>"), result.Modifications);
    }

    [Fact]
    public async Task AMessageNoRuleMatchesIsLeftAlone()
    {
        await using FilterHost host = FilterHost.Start(Config, "rules");
        EndOfMessageResult? result = await SendAsync(host, "Subject: hello\n\nnothing to see\n");
        Assert.Equal(MilterReply.Continue, result!.Reply);
        Assert.Empty(result.Modifications);
    }
}
