using System.Text;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Filters.Tests.Scanning;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// A typical inbound chain, <c>aotmilter -f policy -f clamav -f spamassassin -f disclaimer</c>, in front of real
/// Postfix and real Sendmail, with a real clamd and spamd started for the class: clean mail arrives with every
/// scanner's header and the disclaimer; EICAR and GTUBE are refused with each filter's reply.
/// </summary>
public abstract class ScannerChainThroughMtaTests(ScannerChainFixture fixture)
{
    [Fact]
    public Task CleanMailIsDeliveredWithEveryHeaderInPlace() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create("alice@example.com", "bob@example.net", "Lunch on Monday", "Shall we meet at noon?\nAlice\n");

        var smtp = await fixture.Mta.SendAsync("alice@example.com", ["bob@example.net"], message.Bytes);

        Assert.True(smtp.Accepted, $"{fixture.Mta.Name} did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Mta.WaitForAsync(message.Matches, MtaFixture.DeliveryTimeout, "the clean message");
        Assert.Equal(["Clean"], delivered.Parsed.HeaderValues("X-Virus-Status"));
        Assert.StartsWith("clamav (AotMilter", Assert.Single(delivered.Parsed.HeaderValues("X-Virus-Scanned")), StringComparison.Ordinal);
        Assert.StartsWith("No, score=", Assert.Single(delivered.Parsed.HeaderValues("X-Spam-Status")), StringComparison.Ordinal);
        Assert.StartsWith("SpamAssassin ", Assert.Single(delivered.Parsed.HeaderValues("X-Spam-Checker-Version")), StringComparison.Ordinal);
        Assert.Empty(delivered.Parsed.HeaderValues("X-Spam-Flag"));
        Assert.Equal(["yes"], delivered.Parsed.HeaderValues("X-AotMilter-Disclaimer"));
        Assert.Contains("E2E-SCAN-DISCLAIMER", Encoding.UTF8.GetString(delivered.Body), StringComparison.Ordinal);
    });

    [Fact]
    public Task EicarIsRefusedNamingTheVirus() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create("alice@example.com", "bob@example.net", "invoice", Eicar.Text + "\n");

        var smtp = await fixture.Mta.SendAsync("alice@example.com", ["bob@example.net"], message.Bytes);

        Assert.False(smtp.Accepted);
        Assert.Equal(550, smtp.Data!.Code);
        Assert.Contains("5.7.1 Virus found: Eicar-Test-Signature", smtp.Data.Text, StringComparison.Ordinal);
    });

    [Fact]
    public Task GtubeIsRefusedBySpamassassin() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create("alice@example.com", "bob@example.net", "offer", Gtube.Text + "\n");

        var smtp = await fixture.Mta.SendAsync("alice@example.com", ["bob@example.net"], message.Bytes);

        Assert.False(smtp.Accepted);
        Assert.Equal(550, smtp.Data!.Code);
        Assert.Contains("5.7.1 Blocked by SpamAssassin", smtp.Data.Text, StringComparison.Ordinal);
    });
}

public sealed class PostfixScannerChainTests(PostfixScannerChainFixture fixture)
    : ScannerChainThroughMtaTests(fixture), IClassFixture<PostfixScannerChainFixture>;

public sealed class SendmailScannerChainTests(SendmailScannerChainFixture fixture)
    : ScannerChainThroughMtaTests(fixture), IClassFixture<SendmailScannerChainFixture>;

/// <summary>clamd and spamd of their own, and aotmilter with the inbound chain, in front of an MTA the subclass starts.</summary>
public abstract class ScannerChainFixture : MtaFixture
{
    private readonly SpamdDaemon _spamd = new();
    private ClamdDaemon? _clamd;

    public abstract IMtaInstance Mta { get; }

    public override async Task InitializeAsync()
    {
        if ((ClamdDaemon.Missing ?? SpamdDaemon.Missing) is string missing)
        {
            throw new InvalidOperationException(missing);
        }

        _clamd = await ClamdDaemon.StartAsync();
        await _spamd.InitializeAsync();
        string config = Directory.Combine("aotmilter.conf");
        await File.WriteAllTextAsync(config, $"""
            [clamav]
            address = {_clamd.Address}
            add-header = yes

            [spamassassin]
            address = {_spamd.Address}
            reject-score = 15

            [disclaimer]
            senders = example.com
            text = "--\nE2E-SCAN-DISCLAIMER"
            """);
        Milter = await MilterDaemon.StartAsync("policy", UnixSocket(), "-f", "clamav", "-f", "spamassassin", "-f", "disclaimer", "-c", config);
        await StartMtaAsync(Milter.Endpoint);
    }

    protected abstract Task StartMtaAsync(MilterEndpoint milter);

    protected override async ValueTask DisposeMtaAsync()
    {
        try
        {
            await DisposeScannedMtaAsync();
        }
        finally
        {
            await _spamd.DisposeAsync();
            if (_clamd is not null)
            {
                await _clamd.DisposeAsync();
            }
        }
    }

    protected abstract ValueTask DisposeScannedMtaAsync();
}

public sealed class PostfixScannerChainFixture : ScannerChainFixture
{
    private PostfixInstance? _postfix;

    public override IMtaInstance Mta => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    protected override async Task StartMtaAsync(MilterEndpoint milter) => _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = milter });

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeScannedMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}

public sealed class SendmailScannerChainFixture : ScannerChainFixture
{
    private SendmailInstance? _sendmail;

    public override IMtaInstance Mta => _sendmail ?? throw new InvalidOperationException("Sendmail was not started");

    protected override async Task StartMtaAsync(MilterEndpoint milter) => _sendmail = await SendmailInstance.StartAsync(new SendmailOptions { Milter = milter, DefaultAction = "tempfail" });

    protected override string DescribeMta() => _sendmail?.Describe() ?? "--- Sendmail not started ---";

    protected override ValueTask DisposeScannedMtaAsync() => _sendmail?.DisposeAsync() ?? ValueTask.CompletedTask;
}
