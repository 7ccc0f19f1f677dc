using System.Text.RegularExpressions;
using AotMilter.EndToEnd.Tests.Differential;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Generated.AotMilter_TestFilters;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.TestFilters;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Actions;

using SmtpReply = AotMilter.EndToEnd.Tests.Harness.SmtpReply;

/// <summary>
/// One message sent both ways: through the kit playing the MTA (the filter in-process) and through the real MTA (the
/// filter in the test daemon). <see cref="AssertKitAgrees"/> checks that the kit predicted what the real MTA did: the
/// same SMTP replies, the same outcome, the same delivered message and envelope.
/// </summary>
public sealed record ActionRun(
    ActionFixture Fixture,
    Email Message,
    string Token,
    MessageResult Kit,
    SmtpReply Greeting,
    SmtpTransaction? Real,
    SinkMessage? Delivered)
{
    private static readonly Regex QueueIds = new(@"(queued as |2\.0\.0 )[0-9A-Za-z]{8,16}( Message accepted)?", RegexOptions.Compiled);

    public static async Task<ActionRun> SendAsync(
        ActionFixture fixture, string token, IEnumerable<string> actions, string from = "sender@mail.test",
        string[]? to = null, string helo = "client.aotmilter.test", IEnumerable<(string, string)>? extraHeaders = null,
        TimeSpan? kitTimeout = null)
    {
        to ??= ["rcpt@rcpt.test"];
        Email message = Email.Create(
            [
                ("From", "Sender <sender@mail.test>"),
                ("To", "Recipient <rcpt@rcpt.test>"),
                ("Subject", $"action test {token}"),
                ("Date", "Tue, 24 Nov 2026 12:00:00 +0000"),
                ("Message-ID", $"<{token}@aotmilter.test>"),
                .. extraHeaders ?? [],
                .. actions.Select(a => (ActionFilter.ActionHeader, a)),
            ],
            "Hello from the action tests.\n");

        MessageResult kit;
        ControlFile.LocalOverride = fixture.ControlPath;
        MilterRegistration filter = MilterCatalog.Registrations.Concat(AotMilter.Generated.AotMilter_Filters.MilterCatalog.Registrations)
            .Single(r => r.Name == fixture.Filter);
        var options = new MilterServerOptions { Socket = SocketSpec.Parse("unix:/dev/null"), EventLoops = fixture.KitLoops };
        await using (var mta = new TestMta(fixture.Profile, [filter], options)
        {
            Client = new SmtpClientInfo { Helo = helo },
            Timeout = kitTimeout ?? MilterClient.DefaultTimeout,
        })
        {
            kit = await mta.SendAsync(message, Envelope.Of(from, to));
        }

        var (client, greeting) = await fixture.Mta.ConnectAsync();
        SmtpTransaction? real = null;
        await using (client)
        {
            if (greeting.Code == 220)
            {
                real = await client.SendAsync(from, to, message.ToBytes(), helo);
                await client.QuitAsync();
            }
        }

        SinkMessage? delivered = null;
        if (kit.Outcome == MessageOutcome.Delivered && real?.Accepted == true)
        {
            delivered = await fixture.Mta.WaitForAsync(
                m => m.Parsed.HeaderValues("Message-ID").Any(v => v.Contains(token, StringComparison.Ordinal)),
                MtaFixture.DeliveryTimeout, $"message {token}");
        }

        return new ActionRun(fixture, message, token, kit, greeting, real, delivered);
    }

    /// <summary>The kit's prediction equals what the real MTA did.</summary>
    public void AssertKitAgrees()
    {
        string context = $"\nkit:\n{Kit}";
        StageResult? connectRefusal = Kit.Stages.FirstOrDefault(s => s.Smtp?.At == SmtpCommand.Greeting);
        if (connectRefusal is not null)
        {
            AssertSame(connectRefusal.Smtp!, Greeting, "greeting", context);
            Assert.Null(Real);
            return;
        }

        Assert.Equal(220, Greeting.Code);
        Assert.NotNull(Real);
        StageResult mail = Kit.Stages.First(s => s.Stage == MilterEvent.MailFrom);
        AssertSame(mail.Smtp!, Real.MailFrom!, "MAIL FROM", context);
        StageResult[] recipients = [.. Kit.Stages.Where(s => s.Stage == MilterEvent.RcptTo)];
        for (int i = 0; i < recipients.Length && i < Real.Recipients.Count; i++)
        {
            AssertSame(recipients[i].Smtp!, Real.Recipients[i].Reply, $"RCPT TO {Real.Recipients[i].Address}", context);
        }

        if (Real.Data is not null)
        {
            AssertSame(Kit.FinalResponse, Real.Data, "end of DATA", context);
        }

        if (Kit.Outcome is MessageOutcome.Discarded)
        {
            Assert.Contains(Fixture.Profile.Kind == MtaKind.Postfix ? "milter-discard" : "discarded", Fixture.Mta.ReadLog());
        }

        if (Delivered is not null)
        {
            Assert.Equal(Delivered.Sender, Kit.FinalEnvelope!.Sender.Address);
            Assert.Equal(
                Delivered.RecipientAddresses.Select(a => a.ToLowerInvariant()).Order(),
                Kit.FinalEnvelope.Recipients.Select(r => r.Address.ToLowerInvariant()).Order());
            (string expected, _) = MessageComparison.Canonical(Kit.FinalMessage!.ToBytes(), Message, Fixture.Profile);
            (string actual, _) = MessageComparison.Canonical(Delivered.Data, Message, Fixture.Profile);
            Assert.True(expected == actual, $"the kit's final message differs from the delivered one at {MessageComparison.FirstDifference(expected, actual)}{context}");
        }
    }

    private static void AssertSame(SmtpResponse predicted, SmtpReply real, string what, string context)
    {
        string expected = QueueIds.Replace(predicted.ToString(), "$1(id)$2");
        string actual = QueueIds.Replace(string.Join('\n', real.Lines.Select((l, i) => $"{real.Code}{(i == real.Lines.Count - 1 ? ' ' : '-')}{l}")), "$1(id)$2");
        Assert.True(expected == actual, $"{what}: the kit predicted\n{expected}\nbut the MTA answered\n{actual}{context}");
    }
}
