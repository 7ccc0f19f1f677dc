using AotMilter.Generated.AotMilter_TestFilters;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Testing.Tests;

public class KitTests
{
    private static readonly MilterRegistration Probe = AotMilter.Generated.AotMilter_Testing_Tests.MilterCatalog.Registrations.Named("kit-probe");
    private static readonly MilterRegistration Actions = MilterCatalog.Registrations.Named("test-actions");

    private static Email Message(params string[] actions) => Email.Create(
        [
            ("From", "a@example.org"),
            ("To", "b@example.net"),
            ("Subject", "kit test"),
            ("X-Dup", "one"),
            ("X-Dup", "two"),
            ("X-Dup", "three"),
            .. actions.Select(a => ("X-Test-Action", a)),
        ],
        "Body.\n");

    [Fact]
    public async Task PostfixSendsTheFilterEveryEventWithItsMacros()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Postfix, Probe);

        MessageResult result = await mta.SendAsync(Email.Parse("Subject: x\r\nX-Folded: a\r\n b\r\n\r\nbody\r\n"), "a@example.org", "b@example.net");

        Assert.Equal(MessageOutcome.Delivered, result.Outcome);
        Assert.Equal(
        [
            "connect client.example.org IPv4 192.0.2.10 j=mta.example.test",
            "helo client.example.org",
            "mail a@example.org i=- {mail_addr}=a@example.org",
            "rcpt b@example.net",
            "header Subject:x",
            "header X-Folded:a\\n b",
            "eoh",
            "body 6",
            $"eom i={result.QueueId}",

            // Postfix sends ABORT after the finished message too; the server does not pass it on (a message ends once).
            "close",
        ], events);
    }

    [Fact]
    public async Task SendmailKnowsTheQueueIdAtMAILAndSendsNoAbortAfterAFinishedMessage()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Sendmail, Probe);

        MessageResult result = await mta.SendAsync(Email.Parse("Subject: x\r\n\r\nbody\r\n"), "a@example.org", "b@example.net");

        Assert.Contains($"mail a@example.org i={result.QueueId} {{mail_addr}}=a@example.org", events);
        Assert.DoesNotContain("abort", events);
        Assert.Equal("close", events[^1]);
    }

    [Fact]
    public async Task ARefusedRecipientIsReportedAndTheMessageGoesToTheOthers()
    {
        ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Sendmail, Probe);

        MessageResult result = await mta.SendAsync("Subject: x\r\n\r\nbody\r\n", "a@example.org", "no@example.net", "yes@example.net");

        Assert.Equal(["no@example.net"], result.RefusedRecipients.Select(r => r.Address));
        StageResult refused = result.Stages.First(s => s.Stage == MilterEvent.RcptTo);
        Assert.Equal(new SmtpResponse(550, "5.7.1 <no@example.net>... Command rejected", SmtpCommand.RcptTo), refused.Smtp);
        Assert.Equal(["yes@example.net"], result.FinalEnvelope!.Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task EveryModificationIsReportedByKind()
    {
        await using var mta = new TestMta(MtaProfile.Postfix, Actions);

        MessageResult result = await mta.SendAsync(Message(
            "add-header X-New new", "insert-header 1 X-Top top", "change-header Subject 1 changed", "delete-header X-Dup 2",
            "add-rcpt <c@example.net> NOTIFY=NEVER", "delete-rcpt <b@example.net>", "change-from <new@example.org> RET=HDRS",
            "replace-body-text new body", "quarantine looks odd"), Envelope.Of("a@example.org", "b@example.net"));

        Assert.Equal("X-New", Assert.Single(result.AddedHeaders).Name);
        Assert.Equal(1u, Assert.Single(result.InsertedHeaders).Index);
        Assert.Equal("changed", Assert.Single(result.ChangedHeaders).Value);
        Assert.Equal("X-Dup", Assert.Single(result.DeletedHeaders).Name);
        Assert.Equal("NOTIFY=NEVER", Assert.Single(result.AddedRecipients).Arguments);
        Assert.Equal(["<b@example.net>"], result.DeletedRecipients);
        Assert.Equal("<new@example.org>", result.NewSender!.Address);
        Assert.Equal("new body", System.Text.Encoding.ASCII.GetString(result.ReplacedBody!));
        Assert.Equal("looks odd", result.QuarantineReason);
        Assert.Equal(MessageOutcome.Quarantined, result.Outcome);
        Assert.Equal(Envelope.Of("new@example.org RET=HDRS", "c@example.net NOTIFY=NEVER"), result.FinalEnvelope);
        Assert.Equal(["Received", "X-Top", "From", "To", "Subject", "X-Dup", "X-Dup"], result.FinalMessage!.Headers.Select(h => h.Name).Take(7));
        Assert.Equal("X-New", result.FinalMessage.Headers[^1].Name);
        Assert.Equal("new body\r\n", result.FinalMessage.BodyText);
    }

    [Theory]
    [InlineData(MtaKind.Postfix, "two")]
    [InlineData(MtaKind.Sendmail, "three")]
    public async Task HeaderIndexesAfterADeleteFollowTheMTA(MtaKind kind, string left)
    {
        await using var mta = new TestMta(kind == MtaKind.Postfix ? MtaProfile.Postfix : MtaProfile.Sendmail, Actions);

        MessageResult result = await mta.SendAsync(Message("delete-header X-Dup 1", "delete-header X-Dup 2"), Envelope.Of("a@example.org", "b@example.net"));

        Assert.Equal([left], result.FinalMessage!.HeaderValues("X-Dup"));
    }

    [Fact]
    public async Task ADecisionBeforeEndOfMessageStopsTheEvents()
    {
        await using var mta = new TestMta(MtaProfile.Postfix, Actions);
        await using MtaSession session = await mta.OpenSessionAsync();
        await session.ConnectAsync();
        await session.HeloAsync();

        StageResult mail = await session.MailFromAsync("reject@example.org");
        StageResult rcpt = await session.RcptToAsync("b@example.net");

        Assert.Equal(new SmtpResponse(550, "5.7.1 Command rejected", SmtpCommand.MailFrom), mail.Smtp);
        Assert.False(rcpt.Sent);
        Assert.Contains("MailFrom", rcpt.NotSentBecause);
        var misuse = await Assert.ThrowsAsync<InvalidOperationException>(() => session.EndOfMessageAsync());
        Assert.Contains("decided the message at MailFrom", misuse.Message);
    }

    [Fact]
    public async Task AConnectionRefusedAtHELORefusesEveryMessageOfTheSession()
    {
        await using var mta = new TestMta(MtaProfile.Sendmail, Actions);
        await using MtaSession session = await mta.OpenSessionAsync();
        await session.ConnectAsync();

        StageResult helo = await session.HeloAsync("reject.example.org");
        MessageResult result = await session.SendMessageAsync(Message(), Envelope.Of("a@example.org", "b@example.net"));

        Assert.Equal(new SmtpResponse(550, "5.0.0 Command rejected", SmtpCommand.MailFrom), helo.Smtp);
        Assert.Equal(MessageOutcome.Rejected, result.Outcome);
        Assert.False(result.Stages.Single(s => s.Stage == MilterEvent.MailFrom).Sent);
    }

    [Fact]
    public async Task SeveralMessagesOnOneSession()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Postfix, Probe);
        await using (MtaSession session = await mta.OpenSessionAsync())
        {
            await session.ConnectAsync();
            await session.HeloAsync();
            for (int i = 0; i < 3; i++)
            {
                MessageResult result = await session.SendMessageAsync(Email.Parse($"Subject: {i}\r\n\r\nbody\r\n"), Envelope.Of("a@example.org", "b@example.net"));
                Assert.Equal(MessageOutcome.Delivered, result.Outcome);
            }
        }

        Assert.Equal(3, events.Count(e => e.StartsWith("eom", StringComparison.Ordinal)));
        Assert.Equal(1, events.Count(e => e == "close"));
    }

    [Fact]
    public async Task SendmailRefusesHeadersOver32KiBBeforeTheFilterSeesThem()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Sendmail, Probe);

        MessageResult result = await mta.SendAsync($"X-Big: {new string('x', 40000)}\r\n\r\nbody\r\n", "a@example.org", "b@example.net");

        Assert.Equal(new SmtpResponse(552, "5.6.0 Headers too large (32768 max)", SmtpCommand.EndOfData), result.FinalResponse);
        Assert.DoesNotContain(events, e => e.StartsWith("header", StringComparison.Ordinal));
        Assert.Contains("abort", events);
    }

    [Fact]
    public async Task AFilterNeedingActionsAnOldMTALacksRefusesTheConnection()
    {
        await using var mta = new TestMta(MtaProfile.Sendmail with { OfferedActions = ActionFlags.AddHeaders }, Actions);

        await Assert.ThrowsAsync<EndOfStreamException>(() => mta.OpenSessionAsync());
        Assert.Contains(mta.Log, line => line.Contains("ActionsNotOffered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MacrosCanBeSetPerStage()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Postfix, Probe);
        await using MtaSession session = await mta.OpenSessionAsync();
        session.SetMacro('C', "j", "custom.example");
        session.SetMacro('M', "{mail_addr}", null);
        session.GreetsByItself = false; // connect, then straight to MAIL: no HELO in between

        await session.ConnectAsync();
        await session.MailFromAsync("a@example.org");
        await session.RcptToAsync("b@example.net"); // answered: the void callbacks before it have run

        Assert.Equal("connect client.example.org IPv4 192.0.2.10 j=custom.example", events[0]);
        Assert.Equal("mail a@example.org i=- {mail_addr}=-", events[1]);
    }

    [Fact]
    public async Task ASessionThatStartsAMessageWithoutConnectOrHeloConnectsAndGreetsFirstUnlessToldNotTo()
    {
        List<string> events = ProbeFilter.Events.Value = [];
        await using var mta = new TestMta(MtaProfile.Postfix, Probe);
        await using (MtaSession session = await mta.OpenSessionAsync())
        {
            await session.MailFromAsync("a@example.org");
            await session.RcptToAsync("b@example.net");
        }

        Assert.StartsWith("connect client.example.org", events[0]);
        Assert.Equal("helo client.example.org", events[1]);
        Assert.StartsWith("mail a@example.org", events[2]);

        events.Clear();
        await using (MtaSession session = await mta.OpenSessionAsync())
        {
            session.GreetsByItself = false;
            await session.MailFromAsync("a@example.org");
            await session.RcptToAsync("b@example.net");
        }

        Assert.StartsWith("mail a@example.org", events[0]);
    }
}
