using System.Diagnostics;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// <c>aotmilter -f log -f bench</c> through real Postfix and Sendmail: both filters' changes arrive, and bench counts
/// the header log added, because a later filter of a chain is shown the message as the earlier one left it. The
/// Postfix instance is configured with nothing but what <c>--print-config postfix</c> printed.
/// </summary>
public sealed class FilterChainThroughMtaTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("aotmilter-chain");
    private MilterDaemon? _milter;

    public async Task InitializeAsync()
        => _milter = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(_directory.Combine("milter.sock")), "-f", "bench");

    public async Task DisposeAsync()
    {
        if (_milter is not null)
        {
            await _milter.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task PostfixConfiguredByPrintConfigDeliversBothFiltersChanges()
    {
        Dictionary<string, string> mainCf = await PrintPostfixConfigAsync();
        Assert.Equal(_milter!.Endpoint.ForPostfix, mainCf["smtpd_milters"]);
        Assert.Contains("{daemon_name}", mainCf["milter_connect_macros"]);

        await using PostfixInstance postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = _milter.Endpoint, Settings = mainCf });
        var message = TestMessage.Create(extraHeaders: [new("X-Extra", "1")]);

        var smtp = await postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"{smtp.FirstFailure}\n{postfix.Describe()}\n{_milter.Describe()}");
        SinkMessage delivered = await postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter"));
        Assert.Equal((message.Headers.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(delivered.Parsed.HeaderValues("X-Bench")));
        Assert.Equal(message.Body, delivered.Body);
    }

    [Fact]
    public async Task SendmailDeliversBothFiltersChanges()
    {
        await using SendmailInstance sendmail = await SendmailInstance.StartAsync(new SendmailOptions { Milter = _milter!.Endpoint, DefaultAction = "tempfail" });
        var message = TestMessage.Create(extraHeaders: [new("X-Extra", "1")]);

        var smtp = await sendmail.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

        Assert.True(smtp.Accepted, $"{smtp.FirstFailure}\n{sendmail.Describe()}\n{_milter.Describe()}");
        SinkMessage delivered = await sendmail.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter"));
        Assert.Equal((message.Headers.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(delivered.Parsed.HeaderValues("X-Bench")));
    }

    private async Task<Dictionary<string, string>> PrintPostfixConfigAsync()
    {
        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--print-config", "postfix", "-p", _milter!.Endpoint.ForAotMilter, "-f", "log", "-f", "bench" })
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start)!;
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, p.ExitCode);
        return output.Split('\n')
            .Where(l => l.Contains(" = ", StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split(" = ", 2))
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
    }
}
