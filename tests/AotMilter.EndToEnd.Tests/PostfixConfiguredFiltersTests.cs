using System.Text;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// Real Postfix, aotmilter -c FILE -f rules -f disclaimer: the delivered message carries the disclaimer in both
/// alternatives, the rules' header and subject prefix, and a rejected message never arrives.
/// </summary>
public sealed class PostfixConfiguredFiltersTests(PostfixConfiguredFiltersFixture fixture) : IClassFixture<PostfixConfiguredFiltersFixture>
{
    [Fact]
    public Task DeliveredMailHasTheDisclaimerInEachAlternativeAndTheRulesChanges() => fixture.VerifyAsync(async () =>
    {
        byte[] body = Encoding.ASCII.GetBytes(TestMessage.ToCrlf(
            "--b1\nContent-Type: text/plain; charset=utf-8\n\nPlease arrange the wire transfer.\n\n--b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<html><body><p>Please arrange the wire transfer.</p></body></html>\n\n--b1--\n"));
        var message = TestMessage.Create("alice@example.com", "bob@example.net", "Payment", body,
            new Harness.HeaderField("MIME-Version", "1.0"), new Harness.HeaderField("Content-Type", "multipart/alternative; boundary=\"b1\""));

        var smtp = await fixture.Postfix.SendAsync("alice@example.com", ["bob@example.net"], message.Bytes);

        Assert.True(smtp.Accepted, $"Postfix did not accept the message: {smtp.FirstFailure}");
        var delivered = await fixture.Postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        string text = Encoding.UTF8.GetString(delivered.Body);
        Assert.Equal(2, CountOf(text, "E2E-DISCLAIMER"));
        Assert.Contains("--b1--", text);
        Assert.Equal(["yes"], delivered.Parsed.HeaderValues("X-AotMilter-Disclaimer"));
        Assert.Equal(["suspicious"], delivered.Parsed.HeaderValues("X-Rules"));
        Assert.Equal(["[SUSPICIOUS] Payment"], delivered.Parsed.HeaderValues("Subject"));
    });

    [Fact]
    public Task ARuleRejectsTheMessageWithItsReply() => fixture.VerifyAsync(async () =>
    {
        var message = TestMessage.Create("alice@example.com", "bob@example.net", "Buy VIAGRA now", Encoding.ASCII.GetBytes("spam\r\n"));

        var smtp = await fixture.Postfix.SendAsync("alice@example.com", ["bob@example.net"], message.Bytes);

        Assert.False(smtp.Accepted);
        Assert.Equal(550, smtp.Data!.Code);
        Assert.Contains("No spam here", smtp.Data.Text);
    });

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}

/// <summary>aotmilter with a configuration file (rules + disclaimer) in front of Postfix.</summary>
public sealed class PostfixConfiguredFiltersFixture : MtaFixture
{
    private const string Config = """
        [rules]
        header = Subject /viagra/i reject "550 5.7.1 No spam here"
        body = "wire transfer" prefix-subject "[SUSPICIOUS] " add-header X-Rules suspicious

        [disclaimer]
        senders = example.com
        text = "--\nConfidential (E2E-DISCLAIMER)."
        html = "<p>Confidential (E2E-DISCLAIMER).</p>"
        """;

    private PostfixInstance? _postfix;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override async Task InitializeAsync()
    {
        string config = Directory.Combine("aotmilter.conf");
        await File.WriteAllTextAsync(config, Config);
        Milter = await MilterDaemon.StartAsync("rules", UnixSocket(), "-f", "disclaimer", "-c", config);
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = Milter.Endpoint });
    }

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}
