using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class LimitsFilterTests
{
    private const string Config = """
        [limits]
        max-message-size = 2K
        max-recipients = 2 reply="452 4.5.3 Two is plenty"
        max-headers = 3
        max-header-line = 60
        """;

    [Fact]
    public async Task AnAnnouncedSizeOverTheLimitIsRefusedAtMailFrom()
    {
        await using FilterHost host = FilterHost.Start(Config, "limits");
        await using MilterClient mta = await host.ConnectAsync();
        MilterReply reply = await mta.MailFromAsync("<a@example.net>", "SIZE=999999");
        Assert.StartsWith("552 5.3.4", reply.Text);
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.net>", "SIZE=100"));
    }

    [Fact]
    public async Task ABodyOverTheLimitIsRejectedWhileItArrives()
    {
        await using FilterHost host = FilterHost.Start(Config, "limits");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MailFromAsync("<a@example.net>");
        await mta.RcptToAsync("<b@example.org>");
        MilterReply reply = await mta.SendContentAsync([new("Subject", "hello")], System.Text.Encoding.ASCII.GetBytes(new string('x', 3000)));
        Assert.True(reply.IsRejection, reply.ToString());
    }

    [Fact]
    public async Task TheRecipientOverTheLimitGetsItsOwnReply()
    {
        await using FilterHost host = FilterHost.Start(Config, "limits");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MailFromAsync("<a@example.net>");
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<1@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<2@example.org>"));
        Assert.Equal("replycode \"452 4.5.3 Two is plenty\"", (await mta.RcptToAsync("<3@example.org>")).ToString());
    }

    [Fact]
    public async Task TooManyHeaderFieldsAndTooLongHeaderLinesAreRejected()
    {
        await using FilterHost host = FilterHost.Start(Config, "limits");
        await using MilterClient mta = await host.ConnectAsync();
        await mta.MailFromAsync("<a@example.net>");
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "short"));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Folded", new string('a', 40) + "\n\t" + new string('b', 40)));
        Assert.StartsWith("552 5.6.0", (await mta.HeaderAsync("X-Long", new string('c', 70))).Text);
        await mta.MailFromAsync("<a@example.net>");
        await mta.HeaderAsync("A", "1");
        await mta.HeaderAsync("B", "2");
        await mta.HeaderAsync("C", "3");
        Assert.StartsWith("552 5.3.4 Too many header fields", (await mta.HeaderAsync("D", "4")).Text);
    }
}
