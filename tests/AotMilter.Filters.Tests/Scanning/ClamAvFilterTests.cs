using System.Text;
using AotMilter.Filters.Scanning;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>The clamav filter against a real clamd this class starts (skipped, with the reason, where clamd is not installed).</summary>
public sealed class ClamAvFilterTests : IAsyncLifetime
{
    private ClamdDaemon? _clamd;

    private ClamdDaemon Clamd => _clamd!;

    public async Task InitializeAsync()
    {
        if (ClamdDaemon.Missing is null)
        {
            _clamd = await ClamdDaemon.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_clamd is not null)
        {
            await _clamd.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task EicarIsRefusedNamingTheVirusAndCleanMailOnTheSameConnectionPasses()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}", "clamav");
        await using MilterClient mta = await host.ConnectAsync();

        EndOfMessageResult virus = await mta.SendAsync(Eicar.Message());
        
        Assert.Equal(550, virus.Reply.Code);
        Assert.Contains("5.7.1 Virus found: Eicar-Test-Signature", virus.Reply.Text, StringComparison.Ordinal);

        EndOfMessageResult clean = await mta.SendAsync(Eicar.Clean());
        Assert.Equal(MilterReplyKind.Continue, clean.Reply.Kind);
        Assert.Empty(clean.Modifications);
        Assert.Contains(host.Logs.Lines, l => l.Contains("clamav: Q1: Eicar-Test-Signature.UNOFFICIAL FOUND; reject", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Lines, l => l.Contains(": clean; continue", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task OneKeptAliveClamdConnectionServesMessageAfterMessage()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}\nmax-connections = 4", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        for (int i = 0; i < 5; i++)
        {
            bool virus = i % 2 == 1;
            EndOfMessageResult result = await mta.SendAsync(virus ? Eicar.Message() : Eicar.Clean(bodyLines: 2000));
            Assert.Equal(virus, result.Reply.IsRejection);
        }

        ScannerPool pool = ((AotMilter.Filters.ClamAv.ClamAvSettings)host.Chain.Settings[0]!).Scanner.Pool;
        Assert.Equal(1, pool.IdleCount);
    }

    [SkippableTheory]
    [InlineData("discard")]
    [InlineData("quarantine")]
    [InlineData("header")]
    public async Task EachConfiguredActionIsTakenOnAVirus(string action)
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}\naction = {action}\nadd-header = yes", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        EndOfMessageResult result = await mta.SendAsync(Eicar.Message());
        if (action == "discard")
        {
            // A discarded message is gone: the daemon sends no edits with the verdict.
            Assert.Equal(MilterReplyKind.Discard, result.Reply.Kind);
            return;
        }

        Modification.ChangeHeader status = result.Modifications.OfType<Modification.ChangeHeader>().Single(m => m.Name == ScanHeaders.VirusStatus);
        Assert.StartsWith("Infected (Eicar-Test-Signature", status.Value, StringComparison.Ordinal);
        switch (action)
        {
            case "quarantine":
                Assert.Equal(MilterReplyKind.Accept, result.Reply.Kind);
                Assert.StartsWith("virus Eicar-Test-Signature", result.Modifications.OfType<Modification.Quarantine>().Single().Reason, StringComparison.Ordinal);
                break;
            default:
                Assert.Equal(MilterReplyKind.Continue, result.Reply.Kind);
                break;
        }
    }

    [SkippableFact]
    public async Task MarksReplaceTheOnesASenderForged()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}\nadd-header = yes", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        byte[] forged = Encoding.ASCII.GetBytes("X-Virus-Status: Clean\r\nX-Virus-Status: Clean\r\nSubject: x\r\n\r\nhello\r\n");
        EndOfMessageResult result = await mta.SendAsync(forged);
        Assert.True(result.Modifications.Count == 3, string.Join("; ", result.Modifications));
        Assert.Contains(result.Modifications, m => m is Modification.ChangeHeader { Name: ScanHeaders.VirusStatus, Index: 2, Value: "" });
        Assert.Contains(result.Modifications, m => m is Modification.ChangeHeader { Name: ScanHeaders.VirusStatus, Index: 1, Value: "Clean" });
        Assert.Contains(result.Modifications, m => m is Modification.ChangeHeader { Name: ScanHeaders.VirusScanned, Index: 1 } h && h.Value.StartsWith("clamav (AotMilter", StringComparison.Ordinal));
    }

    /// <summary>
    /// The message goes to clamd in INSTREAM chunks as it fills them, the last one with the terminator when it has room
    /// and the first with the command. Bodies of every length across two chunks' worth (so the stream ends before, on
    /// and just after a chunk boundary, whatever the exact size of a chunk), EICAR in their last bytes: each is found.
    /// </summary>
    [SkippableFact]
    public async Task AVirusInTheLastBytesIsFoundWhereverTheStreamEndsAgainstTheChunks()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        var missed = new List<int>();
        for (int length = 32_500; length <= 32_800; length++)
        {
            string filler = new string('x', length - Eicar.Text.Length - 4);
            byte[] message = Encoding.ASCII.GetBytes(
                $"From: sender@example.net\r\nTo: rcpt@example.org\r\nSubject: {length}\r\n\r\n{filler}\r\n{Eicar.Text}\r\n");
            EndOfMessageResult result = await mta.SendAsync(message);
            if (!result.Reply.IsRejection)
            {
                missed.Add(length);
            }
        }

        Assert.True(missed.Count == 0, $"bodies of {string.Join(", ", missed)} bytes were not refused:\n{string.Join("\n", host.Logs.Lines.TakeLast(5))}");
    }

    [SkippableTheory]
    [InlineData("accept")]
    [InlineData("tempfail")]
    public async Task AMessageOverMaxSizeIsNotScannedAndGetsTheOversizeVerdict(string oversize)
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}\nmax-size = 2K\noversize = {oversize}\nadd-header = yes", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        byte[] big = [.. Eicar.Message(), .. Encoding.ASCII.GetBytes(new string('x', 4000) + "\r\n")];
        EndOfMessageResult result = await mta.SendAsync(big);
        if (oversize == "accept")
        {
            Assert.Equal(MilterReplyKind.Continue, result.Reply.Kind);
            Assert.Contains(result.Modifications, m => m is Modification.ChangeHeader { Name: ScanHeaders.VirusStatus, Value: "Not scanned (larger than max-size)" });
        }
        else
        {
            Assert.True(result.Reply.IsTemporaryFailure, result.Reply.ToString());
        }

        Assert.Contains(host.Logs.Lines, l => l.Contains("not scanned:", StringComparison.Ordinal) && l.Contains("(2048)", StringComparison.Ordinal));
        EndOfMessageResult next = await mta.SendAsync(Eicar.Message());
        Assert.True(next.Reply.IsRejection);
    }

    [Fact]
    public async Task ClamdDownGivesTempfailByDefaultAndAcceptWhenConfigured()
    {
        string nowhere = "unix:/nonexistent-" + Guid.NewGuid().ToString("N")[..8] + "/clamd.sock";
        await using (FilterHost host = FilterHost.Start($"[clamav]\naddress = {nowhere}", "clamav"))
        {
            await using MilterClient mta = await host.ConnectAsync();
            EndOfMessageResult result = await mta.SendAsync(Eicar.Clean());
            Assert.Equal("replycode \"451 4.3.0 Message could not be scanned, try again later\"", result.Reply.ToString());
            Assert.Contains(host.Logs.Lines, l => l.Contains("scan failed: cannot connect to", StringComparison.Ordinal) && l.Contains("tempfail (on-error)", StringComparison.Ordinal));
        }

        await using (FilterHost host = FilterHost.Start($"[clamav]\naddress = {nowhere}\non-error = accept", "clamav"))
        {
            await using MilterClient mta = await host.ConnectAsync();
            EndOfMessageResult result = await mta.SendAsync(Eicar.Message());
            Assert.Equal(MilterReplyKind.Continue, result.Reply.Kind);
        }
    }

    [SkippableFact]
    public async Task AClamdSlowerThanTheDeadlineGivesTheOnErrorVerdictInTimeAndTheNextMessageIsServed()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using ClamdDaemon slow = await ClamdDaemon.StartAsync();
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {slow.Address}\ntimeout = 1s", "clamav");
        await host.StalledThenScannedAsync("clamd", slow.Pause, slow.Resume, Eicar.Message());
    }

    [Theory]
    [InlineData("1: stream: Eicar-Te", "in the middle of its reply")]
    [InlineData("HELLO THERE\0", "not numbered 1")]
    [InlineData("1: stream: what is this\0", "not one of OK, FOUND or ERROR")]
    [InlineData("1: INSTREAM size limit exceeded. ERROR\0", "clamd: INSTREAM size limit exceeded. ERROR")]
    public async Task AScannerThatClosesMidReplyOrAnswersGarbageGivesTheOnErrorVerdict(string answer, string logged)
    {
        await using var bad = MisbehavingScanner.Answering(MisbehavingScanner.InstreamComplete, Encoding.ASCII.GetBytes(answer));
        ScannerMetrics metrics = ScannerMetrics.For("clamav");
        long errors = metrics.Errors(ScanErrorKind.Closed) + metrics.Errors(ScanErrorKind.Protocol) + metrics.Errors(ScanErrorKind.Scanner);
        await bad.EachOfTwoMessagesGetsTheOnErrorVerdictAsync("clamav", "timeout = 5s", Eicar.Message(), ScanClient.OnErrorTempfail, logged);
        Assert.True(metrics.Errors(ScanErrorKind.Closed) + metrics.Errors(ScanErrorKind.Protocol) + metrics.Errors(ScanErrorKind.Scanner) - errors >= 2);
    }

    [SkippableFact]
    public async Task ScansAreCountedInTheDaemonsMetrics()
    {
        Skip.If(ClamdDaemon.Missing is not null, ClamdDaemon.Missing);
        await using FilterHost host = FilterHost.Start($"[clamav]\naddress = {Clamd.Address}", "clamav");
        await using MilterClient mta = await host.ConnectAsync();
        long viruses = ScannerMetrics.For("clamav").Verdicts("virus");
        await mta.SendAsync(Eicar.Message());
        Assert.True(ScannerMetrics.For("clamav").Verdicts("virus") > viruses);
        var text = new StringBuilder();
        host.Server.Metrics.WritePrometheus(text);
        string metrics = text.ToString();
        Assert.Contains("# TYPE aotmilter_scanner_seconds histogram", metrics, StringComparison.Ordinal);
        Assert.Contains("aotmilter_scanner_verdicts_total{scanner=\"clamav\",verdict=\"virus\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("aotmilter_scanner_errors_total{scanner=\"clamav\",reason=\"timeout\"}", metrics, StringComparison.Ordinal);
    }
}
