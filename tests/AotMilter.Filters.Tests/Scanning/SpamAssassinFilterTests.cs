using System.Diagnostics;
using System.Text;
using AotMilter.Filters.Scanning;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>The spamassassin filter against a real spamd this class starts (skipped, with the reason, where spamd is not installed).</summary>
public sealed class SpamAssassinFilterTests(SpamdDaemon spamd) : IClassFixture<SpamdDaemon>
{
    [SkippableFact]
    public async Task GtubeAtOrAboveRejectScoreIsRefusedAndTheNextMessageIsMarkedAsHam()
    {
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}\nreject-score = 15", "spamassassin");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult spam = await mta.SendAsync(Gtube.Message(), "Q7");
        Assert.Equal("replycode \"550 5.7.1 Blocked by SpamAssassin\"", spam.Reply.ToString());
        Assert.Contains(host.Logs.Lines, l => l.Contains("spamassassin: Q7: spam, score 100", StringComparison.Ordinal) && l.Contains("reject (reject-score 15)", StringComparison.Ordinal));

        EndOfMessageResult ham = await mta.SendAsync(Eicar.Clean());
        Assert.Equal(MilterReplyKind.Continue, ham.Reply.Kind);
        Modification.ChangeHeader status = ham.Modifications.OfType<Modification.ChangeHeader>().Single(m => m.Name == "X-Spam-Status");
        Assert.StartsWith("No, score=", status.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(ham.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Flag" });
        Assert.Contains(ham.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Checker-Version" });
    }

    [SkippableFact]
    public async Task SpamUnderRejectScoreGetsSpamassassinsHeadersTheSubjectTagAndQuarantine()
    {
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}\nsubject-tag = \"[SPAM]\"\nquarantine = yes", "spamassassin");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult spam = await mta.SendAsync(Gtube.Message("cheap pills"));
        Assert.Equal(MilterReplyKind.Continue, spam.Reply.Kind);
        Assert.Contains(spam.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Flag", Index: 1, Value: "YES" });
        Assert.Contains(spam.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Status", Index: 1 } h && h.Value.StartsWith("Yes, score=100", StringComparison.Ordinal) && h.Value.Contains("GTUBE", StringComparison.Ordinal));
        Assert.Contains(spam.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Level" } h && h.Value.StartsWith("*****", StringComparison.Ordinal));
        Assert.Contains(spam.Modifications, m => m is Modification.ChangeHeader { Name: "Subject", Index: 1, Value: "[SPAM] cheap pills" });
        Assert.StartsWith("spam, score 100", spam.Modifications.OfType<Modification.Quarantine>().Single().Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task SpamHeadersTheSenderForgedAreReplacedOrRemoved()
    {
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}", "spamassassin");
        await using MilterClient mta = await host.ConnectAsync();
        byte[] forged = Encoding.ASCII.GetBytes(
            $"From: a@example.net\r\nTo: b@example.org\r\nDate: {DateTimeOffset.UtcNow:R}\r\nMessage-ID: <{Guid.NewGuid():N}@example.net>\r\n"
            + "X-Spam-Flag: NO\r\nX-Spam-Status: No\r\nX-Spam-Status: No\r\nSubject: hi\r\n\r\nhello there, see you on Monday\r\n");
        EndOfMessageResult ham = await mta.SendAsync(forged);
        Assert.Contains(ham.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Flag", Index: 1, Value: "" });
        Assert.Contains(ham.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Status", Index: 2, Value: "" });
        Assert.Contains(ham.Modifications, m => m is Modification.ChangeHeader { Name: "X-Spam-Status", Index: 1 } h && h.Value.StartsWith("No, score=", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task AMessageWhoseLastLineHasNoLineEndIsScannedWithoutWaiting()
    {
        // spamd reads by lines: without the end of our side of the stream it waited for the rest of that line.
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}\nreject-score = 15\ntimeout = 5s", "spamassassin");
        await using MilterClient mta = await host.ConnectAsync();
        byte[] gtube = Gtube.Message();
        EndOfMessageResult result = await mta.SendAsync(gtube[..^2]);
        Assert.Equal("replycode \"550 5.7.1 Blocked by SpamAssassin\"", result.Reply.ToString());
    }

    [SkippableFact]
    public async Task TheUserSettingReachesSpamdAndOversizeMessagesAreNotSent()
    {
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        string user = "u" + Guid.NewGuid().ToString("N")[..8];
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}\nuser = {user}\nmax-size = 2K\nreject-score = 10", "spamassassin");
        await using MilterClient mta = await host.ConnectAsync();
        Assert.True((await mta.SendAsync(Gtube.Message())).Reply.IsRejection);
        var clock = Stopwatch.StartNew();
        while (!spamd.Log.Contains(user, StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        Assert.Contains(user, spamd.Log, StringComparison.Ordinal);
        byte[] big = Gtube.Message("big", "X-Filler: " + new string('x', 3000) + "\r\n");
        EndOfMessageResult oversize = await mta.SendAsync(big);
        Assert.Equal(MilterReplyKind.Continue, oversize.Reply.Kind);
        Assert.Empty(oversize.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("spamassassin: Q1: not scanned:", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task ASpamdSlowerThanTheDeadlineGivesTheOnErrorVerdictInTimeAndTheNextMessageIsServed()
    {
        Skip.If(SpamdDaemon.Missing is not null, SpamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[spamassassin]\naddress = {spamd.Address}\ntimeout = 1s\nreject-score = 15", "spamassassin");
        await host.StalledThenScannedAsync("spamd", spamd.Pause, spamd.Resume, Gtube.Message());
    }

    [Theory]
    [InlineData("", "spamd closed the connection without a reply", "tempfail")]
    [InlineData("SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\nSpam: True ; 9 / 5\r\n\r\nX-Spam", "after 6 of the 10 bytes", "tempfail")]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", "does not start with SPAMD/1.x", "accept")]
    [InlineData("SPAMD/1.0 76 Bad header line: (Content-Length contains non-numeric bytes)\r\n\r\n", "spamd: SPAMD/1.0 76 Bad header line", "tempfail")]
    [InlineData("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "no 'Spam: True|False ; SCORE / THRESHOLD' field", "tempfail")]
    public async Task AScannerThatClosesMidReplyOrAnswersGarbageGivesTheOnErrorVerdict(string answer, string logged, string onError)
    {
        await using var bad = MisbehavingScanner.Answering(MisbehavingScanner.ContentComplete, Encoding.ASCII.GetBytes(answer));
        await bad.EachOfTwoMessagesGetsTheOnErrorVerdictAsync("spamassassin", $"on-error = {onError}\nreject-score = 5", Gtube.Message(),
            onError == "accept" ? "continue" : ScanClient.OnErrorTempfail, logged);
        Assert.True(ScannerMetrics.For("spamassassin").Scans >= 2);
    }
}
