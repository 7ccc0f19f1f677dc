using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.TestFilters;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Actions;

using SmtpReply = AotMilter.EndToEnd.Tests.Harness.SmtpReply;

/// <summary>
/// Every milter action, proven through a real MTA: the test filter does what the message asks, the test checks the
/// effect in what the MTA delivered (or answered), and checks that the kit, playing that MTA, predicted exactly that
/// (<see cref="ActionRun.AssertKitAgrees"/>). The same tests run against Postfix and Sendmail (the two subclasses);
/// where the MTAs differ, the test says so and checks each.
/// </summary>
public abstract class ActionTests<TFixture>(TFixture fixture)
    where TFixture : ActionFixture
{
    private static int _sequence;

    protected TFixture Fixture { get; } = fixture;

    private bool IsPostfix => Fixture.Profile.Kind == MtaKind.Postfix;

    // -----------------------------------------------------------------------------------------------------------
    // Headers

    [Fact]
    public Task AddHeaderAppendsItAfterTheLastHeader() => Verify(async () =>
    {
        ActionRun run = await Send(["add-header X-Added added by the filter"]);

        Assert.Equal("X-Added: added by the filter", run.Delivered!.Headers[^1].ToString());
    });

    [Fact]
    public Task AddHeaderWithANameAlreadyPresentLandsAtTheEndWithPostfixAndBeforeTheFirstOfThatNameWithSendmail() => Verify(async () =>
    {
        ActionRun run = await Send(["add-header X-Dup four"], extra: Dups);

        string[] dups = [.. run.Delivered!.Parsed.HeaderValues("X-Dup")];
        Assert.Equal(IsPostfix ? ["one", "two", "three", "four"] : ["four", "one", "two", "three"], dups);
    });

    [Fact]
    public Task AddHeaderDateIsAppendedByPostfixButTakesThePlaceOfSendmailsOwnDateNearTheTop() => Verify(async () =>
    {
        ActionRun run = await Send(["add-header Date Wed, 25 Nov 2026 00:00:00 +0000"]);

        var headers = run.Delivered!.Headers;
        int added = headers.ToList().FindIndex(h => h.Name == "Date" && h.Value.StartsWith("Wed", StringComparison.Ordinal));
        Assert.Equal(IsPostfix ? headers.Count - 1 : 1, added);
        Assert.Equal(2, run.Delivered.Parsed.HeaderValues("Date").Count);
    });

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public Task InsertHeaderAtAnIndex(int index) => Verify(async () =>
    {
        ActionRun run = await Send([$"insert-header {index} X-Inserted at {index}"]);

        string[] names = [.. run.Delivered!.Headers.Select(h => h.Name)];
        int position = Array.IndexOf(names, "X-Inserted");

        // Both count their own Received: (index 0 goes above it, 1 right below it). Postfix counts the headers that
        // follow; Sendmail counts its own list of generated headers (Return-Path, Received, Resent-Date, Date …), which
        // are not written when the client sent them, so 1 to 8 all land right below Received.
        int expected = index switch
        {
            0 => 0,
            1 => 1,
            3 => IsPostfix ? 3 : 1,
            _ => names.Length - 1,
        };
        Assert.True(expected == position, $"X-Inserted at {position}, expected {expected}: {string.Join(", ", names)}");
    });

    [Fact]
    public Task ChangeHeaderReplacesTheValueOfTheGivenOccurrence() => Verify(async () =>
    {
        ActionRun run = await Send(["change-header Subject 1 changed subject", "change-header X-Dup 2 second changed"], extra: Dups);

        Assert.Equal(["changed subject"], run.Delivered!.Parsed.HeaderValues("Subject"));
        Assert.Equal(["one", "second changed", "three"], run.Delivered.Parsed.HeaderValues("X-Dup"));
    });

    [Fact]
    public Task ChangeHeaderThatDoesNotExistAddsIt() => Verify(async () =>
    {
        ActionRun run = await Send(["change-header X-Missing 1 added by a change"]);

        Assert.Equal("X-Missing: added by a change", run.Delivered!.Headers[^1].ToString());
    });

    [Fact]
    public Task DeleteHeaderRemovesIt() => Verify(async () =>
    {
        ActionRun run = await Send(["delete-header X-Dup 2"], extra: Dups);

        Assert.Equal(["one", "three"], run.Delivered!.Parsed.HeaderValues("X-Dup"));
    });

    [Fact]
    public Task AfterADeletePostfixRenumbersTheRemainingHeadersButSendmailKeepsTheDeletedOneCounted() => Verify(async () =>
    {
        ActionRun run = await Send(["delete-header X-Dup 1", "delete-header X-Dup 2"], extra: Dups);

        // Postfix: after "one" is gone, #2 is "three". Sendmail: "one" keeps its index, so #2 is still "two".
        Assert.Equal(IsPostfix ? ["two"] : ["three"], run.Delivered!.Parsed.HeaderValues("X-Dup"));
    });

    [Fact]
    public Task AfterADeleteChangingOccurrence1ChangesTheNextHeaderWithPostfixAndRevivesTheDeletedOneWithSendmail() => Verify(async () =>
    {
        ActionRun run = await Send(["delete-header X-Dup 1", "change-header X-Dup 1 changed"], extra: Dups);

        Assert.Equal(IsPostfix ? ["changed", "three"] : ["changed", "two", "three"], run.Delivered!.Parsed.HeaderValues("X-Dup"));
    });

    // -----------------------------------------------------------------------------------------------------------
    // Recipients and sender

    [Fact]
    public Task AddRecipientDeliversToItToo() => Verify(async () =>
    {
        ActionRun run = await Send(["add-rcpt <added@rcpt.test>"]);

        Assert.Equal(["added@rcpt.test", "rcpt@rcpt.test"], run.Delivered!.RecipientAddresses.Order());
    });

    [Fact]
    public Task AddRecipientWithESMTPArgumentsRelaysThem() => Verify(async () =>
    {
        ActionRun run = await Send(["add-rcpt <added@rcpt.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;original@rcpt.test"]);

        string parameters = run.Delivered!.RecipientParameters("added@rcpt.test");
        Assert.Contains("NOTIFY=SUCCESS,FAILURE", parameters);
        Assert.Contains("ORCPT=rfc822;original@rcpt.test", parameters);
    });

    [Fact]
    public Task DeleteRecipientRemovesItFromTheEnvelope() => Verify(async () =>
    {
        ActionRun run = await Send(["delete-rcpt <second@rcpt.test>"], to: ["rcpt@rcpt.test", "second@rcpt.test"]);

        Assert.Equal(["rcpt@rcpt.test"], run.Delivered!.RecipientAddresses);
    });

    [Fact]
    public Task ChangeSenderWithESMTPArguments() => Verify(async () =>
    {
        ActionRun run = await Send(["change-from <new-sender@mail.test> RET=HDRS ENVID=abc123"]);

        Assert.Equal("new-sender@mail.test", run.Delivered!.Sender);
        Assert.Contains("RET=HDRS", run.Delivered.SenderParameters);
        Assert.Contains("ENVID=abc123", run.Delivered.SenderParameters);
    });

    // -----------------------------------------------------------------------------------------------------------
    // Body

    [Fact]
    public Task ReplaceBody() => Verify(async () =>
    {
        ActionRun run = await Send(["replace-body-text Replaced by the filter.\\nSecond line."]);

        Assert.Equal("Replaced by the filter.\r\nSecond line.\r\n", Encoding.ASCII.GetString(run.Delivered!.Body));
    });

    [Fact]
    public Task ReplaceBodyLargerThan64KiB() => Verify(async () =>
    {
        ActionRun run = await Send(["replace-body 200000"]);

        byte[] expected = ActionFilter.GeneratedBody(200000);
        Assert.Equal(expected.Length, run.Delivered!.Body.Length);
        Assert.True(expected.AsSpan().SequenceEqual(run.Delivered.Body), "the delivered body is not the replacement");
    });

    // -----------------------------------------------------------------------------------------------------------
    // Quarantine, progress

    [Fact]
    public Task QuarantineHoldsTheMessage() => Verify(async () =>
    {
        ActionRun run = await Send(["quarantine held by the test filter"]);

        Assert.Equal(MessageOutcome.Quarantined, run.Kit.Outcome);
        Assert.Equal("held by the test filter", run.Kit.QuarantineReason);
        Assert.True(run.Real!.Accepted, $"the message was not accepted: {run.Real.FirstFailure}");
        if (Fixture is PostfixActionFixture postfix)
        {
            // Postfix: the hold queue; postqueue marks a held message with '!' after its queue id.
            string queue = await postfix.Postfix.QueueListingAsync();
            Assert.Matches(@"[0-9A-F]+!\s+\d+ .*\n\s*rcpt@rcpt\.test", queue);
            Assert.Contains("milter-hold: END-OF-MESSAGE", postfix.Postfix.ReadMaillog());
        }
        else if (Fixture is SendmailActionFixture sendmail)
        {
            // Sendmail: the quarantine queue; the queue file becomes hf* and the log names the reason.
            Assert.NotEmpty(Directory.GetFiles(sendmail.Sendmail.QueueDirectory, "hf*"));
            Assert.Contains("quarantine=held by the test filter", sendmail.Sendmail.ReadLog());
        }

        await Task.Delay(500);
        Assert.DoesNotContain(Fixture.Mta.Sink.Messages, m => m.Parsed.HeaderValues("Message-ID").Any(v => v.Contains(run.Token, StringComparison.Ordinal)));
    });

    [Fact]
    public Task ProgressKeepsTheMTAWaitingDuringASlowEndOfMessage() => Verify(async () =>
    {
        // The filter works twice as long as the MTA waits for an answer, sending progress twice a second.
        int seconds = (int)(ActionFixture.MilterTimeout.TotalSeconds * 2);
        ActionRun run = await Send([$"progress {seconds}", "add-header X-Slow done"], kitTimeout: ActionFixture.MilterTimeout);

        Assert.True(run.Kit.ProgressCount >= seconds, $"progress frames: {run.Kit.ProgressCount}");
        Assert.True(run.Real!.Accepted, $"the MTA gave up: {run.Real.FirstFailure}");
        Assert.Equal("X-Slow: done", run.Delivered!.Headers[^1].ToString());
    });

    [Fact]
    public Task WithoutProgressTheSameSlowEndOfMessageTimesOut() => Verify(async () =>
    {
        int seconds = (int)(ActionFixture.MilterTimeout.TotalSeconds * 2);
        string token = Token();
        var kit = await Assert.ThrowsAsync<TimeoutException>(() => ActionRun.SendAsync(Fixture, token, [$"sleep {seconds}"], kitTimeout: ActionFixture.MilterTimeout));
        Assert.Contains("no reply to 'E'", kit.Message);

        Email message = Email.Create([("Message-ID", $"<{token}-real@aotmilter.test>"), (ActionFilter.ActionHeader, $"sleep {seconds}")], "slow\n");
        SmtpTransaction real = await Fixture.Mta.SendAsync("sender@mail.test", ["rcpt@rcpt.test"], message.ToBytes());

        Assert.True(real.Data!.IsTransientFailure, $"expected a 4xx after the milter timeout, got {real.Data}");
    });

    // -----------------------------------------------------------------------------------------------------------
    // Verdicts at every stage, custom replies

    public static TheoryData<string, string> StagesAndVerdicts()
    {
        var data = new TheoryData<string, string>();
        foreach (string stage in new[] { "connect", "helo", "mail", "rcpt", "eom" })
        {
            foreach (string verdict in new[] { "reject", "tempfail", "discard", "accept" })
            {
                data.Add(stage, verdict);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StagesAndVerdicts))]
    public Task VerdictAtEachStage(string stage, string verdict) => Verify(async () =>
    {
        ActionRun run = await SendWithVerdict(stage, verdict);

        switch (verdict)
        {
            case "reject":
                Assert.True(FirstFailure(run) is { IsPermanentFailure: true }, $"expected a 5xx: {Describe(run)}");
                break;
            case "tempfail":
                Assert.True(FirstFailure(run) is { IsTransientFailure: true }, $"expected a 4xx: {Describe(run)}");
                break;
            case "discard" when stage is "connect" or "helo":
                // Both MTAs ignore a discard at connect and HELO (Postfix logs a warning): the message is delivered.
                Assert.NotNull(run.Delivered);
                break;
            case "discard":
                Assert.True(run.Real!.Accepted, $"a discarded message is accepted: {Describe(run)}");
                Assert.Equal(MessageOutcome.Discarded, run.Kit.Outcome);
                break;
            case "accept":
                Assert.NotNull(run.Delivered);
                break;
        }

        if (stage == "rcpt" && verdict is "reject" or "tempfail")
        {
            // Only that recipient is refused; the message goes to the other one.
            Assert.Equal(["ok@rcpt.test"], run.Delivered!.RecipientAddresses);
        }
    });

    public static TheoryData<string, string> CustomReplies()
    {
        var data = new TheoryData<string, string>();
        foreach (string stage in new[] { "helo", "mail", "rcpt", "eom" })
        {
            foreach (string reply in new[] { "reply", "reply-multi", "reply-tempfail", "reply-percent" })
            {
                data.Add(stage, reply);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CustomReplies))]
    public Task CustomReply(string stage, string reply) => Verify(async () =>
    {
        ActionRun run = await SendWithVerdict(stage, reply);

        SmtpReply failure = FirstFailure(run) ?? throw new Xunit.Sdk.XunitException($"no failure: {Describe(run)}");
        switch (reply)
        {
            case "reply":
                Assert.Equal(550, failure.Code);
                Assert.EndsWith("Rejected by the test filter", failure.Lines[0]);
                break;
            case "reply-multi":
                Assert.Equal(550, failure.Code);
                Assert.Equal(3, failure.Lines.Count);
                Assert.Equal(["5.7.1 Second line", "5.7.1 Last line"], failure.Lines.Skip(1));
                break;
            case "reply-tempfail":
                Assert.Equal(451, failure.Code);
                Assert.Equal("4.7.1 Try again, says the test filter", failure.Lines[0]);
                break;
            case "reply-percent":
                // The filter sends "100%% rejected" (Sendmail reads the text as a format); both MTAs show one '%'.
                Assert.EndsWith("100% rejected by the test filter", failure.Lines[0]);
                break;
        }
    });

    [Fact]
    public async Task MTAOffersWhatTheKitProfileOffers()
    {
        // The daemon logs each negotiation at debug level: "negotiated: MTA v6 actions=0x1ff protocol=0x1fffff; …".
        await Verify(async () => await Send([]));
        string expected = $"MTA v{Fixture.Profile.ProtocolVersion} actions=0x{(uint)Fixture.Profile.OfferedActions:x} protocol=0x{(uint)Fixture.Profile.OfferedProtocol:x};";
        Assert.Contains(expected, Fixture.Milter!.Output);
    }

    // -----------------------------------------------------------------------------------------------------------

    private static readonly (string, string)[] Dups = [("X-Dup", "one"), ("X-Dup", "two"), ("X-Dup", "three")];

    private Task Verify(Func<Task> test) => Fixture.VerifyAsync(test);

    private static string Token() => $"act-{Interlocked.Increment(ref _sequence):D4}-{Guid.NewGuid():N}"[..24];

    /// <summary>Sends a message whose X-Test-Action headers ask for <paramref name="actions"/>; asserts the kit agrees.</summary>
    private async Task<ActionRun> Send(string[] actions, string[]? to = null, (string, string)[]? extra = null, TimeSpan? kitTimeout = null)
    {
        ActionRun run = await ActionRun.SendAsync(Fixture, Token(), actions, to: to, extraHeaders: extra, kitTimeout: kitTimeout);
        run.AssertKitAgrees();
        return run;
    }

    /// <summary>Sends a message that triggers <paramref name="verdict"/> at <paramref name="stage"/>; asserts the kit agrees.</summary>
    private async Task<ActionRun> SendWithVerdict(string stage, string verdict)
    {
        string from = stage == "mail" ? $"{verdict}@mail.test" : "sender@mail.test";
        string[] to = stage == "rcpt" ? [$"{verdict}@rcpt.test", "ok@rcpt.test"] : ["rcpt@rcpt.test"];
        string helo = stage == "helo" ? $"{verdict}.helo.test" : "client.aotmilter.test";
        string[] actions = stage == "eom" ? [$"verdict {verdict}"] : [];
        Fixture.SetControl(stage == "connect" ? $"connect={verdict}" : null);
        try
        {
            ActionRun run = await ActionRun.SendAsync(Fixture, Token(), actions, from, to, helo);
            run.AssertKitAgrees();
            return run;
        }
        finally
        {
            Fixture.SetControl(null);
        }
    }

    private static SmtpReply? FirstFailure(ActionRun run) =>
        run.Greeting.Code != 220 ? run.Greeting : run.Real?.FirstFailure;

    private static string Describe(ActionRun run) =>
        $"greeting {run.Greeting}; {(run.Real is null ? "no transaction" : $"first failure {run.Real.FirstFailure?.ToString() ?? "none"}")}\nkit: {run.Kit}";
}

public sealed class PostfixActionTests(PostfixActionFixture fixture) : ActionTests<PostfixActionFixture>(fixture), IClassFixture<PostfixActionFixture>;

public sealed class SendmailActionTests(SendmailActionFixture fixture) : ActionTests<SendmailActionFixture>(fixture), IClassFixture<SendmailActionFixture>;
