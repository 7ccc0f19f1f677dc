using System.Diagnostics;
using System.Text;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>The rspamd filter against a real rspamd this class starts (skipped, with the reason, where rspamd is not installed).</summary>
public sealed class RspamdFilterTests(RspamdDaemon rspamd) : IClassFixture<RspamdDaemon>
{
    private static byte[] Message(string extraHeaders, string subject = "hello") => Encoding.ASCII.GetBytes(
        $"From: Sender <sender@example.net>\r\nTo: Rcpt <rcpt@example.org>\r\nSubject: {subject}\r\nDate: {DateTimeOffset.UtcNow:R}\r\n"
        + $"Message-ID: <{Guid.NewGuid():N}@example.net>\r\n{extraHeaders}\r\nHello, see you on Monday.\r\n");

    /// <summary>The header changes and quarantine of a result, one "Name: value" (or "quarantine: reason") each.</summary>
    private static string[] Edits(EndOfMessageResult result) => [.. result.Modifications.Select(m => m switch
    {
        Modification.AddHeader a => $"{a.Name}: {a.Value}",
        Modification.ChangeHeader c => $"{c.Name}: {c.Value}",
        Modification.Quarantine q => $"quarantine: {q.Reason}",
        _ => m.ToString()!,
    })];

    [SkippableFact]
    public async Task GtubeIsRefusedWithRspamdsMessageAndCleanMailOnTheSameConnectionPasses()
    {
        Skip.If(RspamdDaemon.Missing is not null, RspamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[rspamd]\naddress = {rspamd.Address}", "rspamd");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult spam = await mta.SendAsync(Gtube.Message(), "QGTUBE1");
        Assert.Equal("replycode \"554 5.7.1 Gtube pattern\"", spam.Reply.ToString());

        EndOfMessageResult clean = await mta.SendAsync(Message(""), "QCLEAN1");
        Assert.Equal(MilterReplyKind.Continue, clean.Reply.Kind);
        Assert.DoesNotContain(clean.Modifications, m => m is Modification.AddHeader { Name: "X-Spam" });
        Assert.Contains(host.Logs.Lines, l => l.Contains("rspamd: QGTUBE1: reject, score", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Lines, l => l.Contains("rspamd: QCLEAN1: no action, score", StringComparison.Ordinal));

        // The envelope went along as request headers: rspamd logs the task with them.
        var clock = Stopwatch.StartNew();
        while (!rspamd.Log.Contains("qid: <QCLEAN1>", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        string line = rspamd.Log.Split('\n').First(l => l.Contains("qid: <QCLEAN1>", StringComparison.Ordinal));
        Assert.True(line.Contains("198.51.100.7", StringComparison.Ordinal), line);
        Assert.True(line.Contains("a@example.net", StringComparison.Ordinal), line);
        Assert.True(line.Contains("b@example.org", StringComparison.Ordinal), line);
    }

    [SkippableTheory]
    [InlineData("X-Test-Score: 35\r\n", "replycode \"451 4.7.1 Try again later\"", null)]
    [InlineData("X-Test-Score: 65\r\n", "continue", "X-Spam: Yes")]
    [InlineData("X-Test-Score: 95\r\n", "continue", "Subject: ***SPAM*** hello")]
    [InlineData("X-Test-Score: 200\r\n", "replycode \"554 5.7.1 Spam message rejected\"", null)]
    [InlineData("X-Test-Action: soft reject\r\n", "replycode \"451 4.7.1 Forced by the test\"", null)]
    [InlineData("X-Test-Action: discard\r\n", "discard", null)]
    [InlineData("X-Test-Action: quarantine\r\n", "accept", "quarantine: Forced by the test")]
    public async Task EachActionIsTakenAsRspamdsProxyTakesIt(string headers, string reply, string? edit)
    {
        Skip.If(RspamdDaemon.Missing is not null, RspamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[rspamd]\naddress = {rspamd.Address}", "rspamd");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult result = await mta.SendAsync(Message(headers));
        Assert.Equal(reply, result.Reply.ToString());
        Assert.Equal(edit is null ? [] : [edit], Edits(result));
    }

    [SkippableTheory]
    [InlineData("spam-header = X-Spam-Flag", "X-Test-Score: 65\r\n", "X-Spam-Flag: Yes", "add header, score")]
    [InlineData("", "X-Test-Action: review\r\n", null, "; continue (unknown action)")]
    public async Task TheSpamHeaderSettingAndAnActionOfTheAdminsOwnAreTakenAndLogged(string settings, string headers, string? edit, string logged)
    {
        // review is an action the test rspamd defines and the filter does not know: the message passes.
        Skip.If(RspamdDaemon.Missing is not null, RspamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[rspamd]\naddress = {rspamd.Address}\n{settings}", "rspamd");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult result = await mta.SendAsync(Message(headers), "QOWN1");
        Assert.Equal(MilterReplyKind.Continue, result.Reply.Kind);
        Assert.Equal(edit is null ? [] : [edit], Edits(result));
        Assert.Contains(host.Logs.Lines, l => l.Contains("rspamd: QOWN1: ", StringComparison.Ordinal) && l.Contains(logged, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task TheReplysMilterBlockAddsAndRemovesHeaderFields()
    {
        Skip.If(RspamdDaemon.Missing is not null, RspamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[rspamd]\naddress = {rspamd.Address}", "rspamd");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult result = await mta.SendAsync(Message(
            "X-Test-Milter: 1\r\nX-Remove-All: 1\r\nX-Remove-All: 2\r\nX-Remove-Second: 1\r\nX-Remove-Second: 2\r\nX-Remove-Second: 3\r\nX-Remove-Last: 1\r\nX-Remove-Last: 2\r\n"));
        Assert.Equal(MilterReplyKind.Continue, result.Reply.Kind);
        IReadOnlyList<Modification> m = result.Modifications;
        Assert.Contains(new Modification.ChangeHeader(2, "X-Remove-All", ""), m);
        Assert.Contains(new Modification.ChangeHeader(1, "X-Remove-All", ""), m);
        Assert.Contains(new Modification.ChangeHeader(2, "X-Remove-Second", ""), m);
        Assert.Contains(new Modification.ChangeHeader(2, "X-Remove-Last", ""), m);
        Assert.Equal(4, m.OfType<Modification.ChangeHeader>().Count());
        Assert.Contains(new Modification.AddHeader("X-Added-One", "one"), m);
        Assert.Contains(new Modification.InsertHeader(0, "X-Added-First", "first"), m);
        Assert.Contains(new Modification.AddHeader("X-Added-Many", "a"), m);
        Assert.Contains(new Modification.AddHeader("X-Added-Many", "b"), m);
    }

    [SkippableFact]
    public async Task AnRspamdSlowerThanTheDeadlineGivesTheOnErrorVerdictInTimeAndTheNextMessageIsServed()
    {
        Skip.If(RspamdDaemon.Missing is not null, RspamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[rspamd]\naddress = {rspamd.Address}\ntimeout = 1s", "rspamd");
        await host.StalledThenScannedAsync("rspamd", rspamd.Pause, rspamd.Resume, Gtube.Message());
    }

    [Fact]
    public async Task RspamdDownGivesTempfailAndAcceptWhenConfigured()
    {
        await using (FilterHost host = FilterHost.Start("[rspamd]\naddress = http://127.0.0.1:1", "rspamd"))
        {
            await using MilterClient mta = await host.ConnectAsync();
            Assert.True((await mta.SendAsync(Gtube.Message())).Reply.IsTemporaryFailure);
            Assert.Contains(host.Logs.Lines, l => l.Contains("cannot connect to http://127.0.0.1:1", StringComparison.Ordinal));
        }

        await using (FilterHost host = FilterHost.Start("[rspamd]\naddress = http://127.0.0.1:1\non-error = accept", "rspamd"))
        {
            await using MilterClient mta = await host.ConnectAsync();
            Assert.Equal(MilterReplyKind.Continue, (await mta.SendAsync(Gtube.Message())).Reply.Kind);
        }
    }

    [Theory]
    [InlineData("", "rspamd closed the connection without a reply")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"action\":", "after 10 of the 100 bytes")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}\r\n", "has no Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "is not its JSON")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"score\":1.0}", "names no action")]
    [InlineData("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops", "rspamd: HTTP/1.1 500 Internal Server Error: oops")]
    [InlineData("SPAMD/1.1 0 EX_OK\r\n\r\n", "is not HTTP")]
    public async Task AScannerThatClosesMidReplyOrAnswersGarbageGivesTheOnErrorVerdict(string answer, string logged)
    {
        await using var bad = MisbehavingScanner.Answering(MisbehavingScanner.ContentComplete, Encoding.ASCII.GetBytes(answer));
        await bad.EachOfTwoMessagesGetsTheOnErrorVerdictAsync("rspamd", "", Gtube.Message(), ScanClient.OnErrorTempfail, logged);
    }
}
