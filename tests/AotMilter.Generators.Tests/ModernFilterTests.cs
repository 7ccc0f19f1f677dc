using System.Reflection;
using AotMilter.Configuration;
using AotMilter.Protocol;

namespace AotMilter.Generators.Tests;

/// <summary>Async callbacks, string and [Macro] parameters, settings and capabilities, read back from compiled samples.</summary>
public class ModernFilterTests
{
    [Fact]
    public void CapabilitiesAsyncObserversAndTheBodySkipAreInTheNegotiation()
    {
        using Loaded loaded = Loaded.Library("Modern", Samples.Modern);
        MilterRegistration r = loaded.Registration("Modern", "modern");

        // Connect returns void, MailFrom and Unknown return ValueTask: no reply. Data and end of headers are not handled.
        Assert.Equal(
            ProtocolFlags.NoData | ProtocolFlags.NoEndOfHeaders | ProtocolFlags.Skip | ProtocolFlags.RejectedRecipients
                | ProtocolFlags.NoReplyConnect | ProtocolFlags.NoReplyMail | ProtocolFlags.NoReplyUnknown | ProtocolFlags.HeaderLeadingSpace,
            r.Protocol);
        Assert.Equal(ActionFlags.AddHeaders, r.Actions);
        Assert.Equal("Async, macros, settings", r.Description);
    }

    [Fact]
    public void MacrosAreRequestedAtTheStageOfTheCallbackThatReadsThemNormalisedAndSorted()
    {
        using Loaded loaded = Loaded.Library("Modern", Samples.Modern);
        MilterRegistration r = loaded.Registration("Modern", "modern");

        Assert.Equal(
            [
                "Connect: j {daemon_name}",
                "MailFrom: {auth_authen} {mail_addr}",
                "RcptTo: {rcpt_mailer}",
                "EndOfMessage: i",
                "EndOfHeaders: {mail_addr}",
            ],
            r.Macros.Select(m => $"{m.Stage}: {string.Join(" ", m.Names)}"));
    }

    [Fact]
    public void AFilterWithoutMacroParametersRequestsNoMacrosAndHasNoSettings()
    {
        using Loaded loaded = Loaded.Library("Every", Samples.EveryCallback);
        MilterRegistration r = loaded.Registration("Every", "every");

        Assert.Empty(r.Macros);
        Assert.False(r.HasSettings);
        Assert.Null(r.ParseSettings(ConfigSection.Empty("every")));
    }

    [Fact]
    public async Task AsyncCallbacksGetStringsAndMacrosAndTheirVerdictsReachTheDispatcher()
    {
        using Loaded loaded = Loaded.Library("Modern", Samples.Modern);
        MilterRegistration r = loaded.Registration("Modern", "modern");
        FilterDispatcher d = r.CreateDispatcher();
        MilterContext context = HostSide.CreateContext(
            ('C', [("{daemon_name}", "smtpd"), ("j", "mx.example")]),
            ('M', [("{mail_addr}", "s@example.com"), ("{auth_authen}", "alice")]),
            ('R', [("{rcpt_mailer}", "local")]));

        Assert.True((await d.ConnectAsync(default, context)).IsContinue);

        Verdict helo = await d.HeloAsync("busy"u8, context);
        Assert.Equal(VerdictKind.TempFail, helo.Kind);
        Assert.Equal("451 4.7.1 Busy, try again later", helo.Reply?.ToString());
        Assert.True((await d.HeloAsync("mx.client"u8, context)).IsContinue);

        Assert.True((await d.MailFromAsync(new EnvelopeAddress("<s@example.com>"u8, default), context)).IsContinue);
        Assert.True((await d.RcptToAsync(new EnvelopeAddress("<ok@example.com>"u8, default), context)).IsContinue);
        Verdict refused = await d.RcptToAsync(new EnvelopeAddress("<refuse@example.com>"u8, default), context);
        Assert.Equal(VerdictKind.Reject, refused.Kind);
        Assert.Equal("550 5.7.1 Refused", refused.Reply?.ToString());

        Assert.True((await d.HeaderAsync(new HeaderField("Subject"u8, " hi"u8), context)).IsContinue);
        Assert.Equal(VerdictKind.Skip, (await d.BodyAsync("chunk"u8, context)).Kind);

        // Unknown awaits (Task.Yield): the observed ValueTask completes later, and the dispatcher still answers Continue.
        Assert.True((await d.UnknownAsync("XYZZY now"u8, context)).IsContinue);
        await d.AbortAsync(context);

        Assert.Equal(
            [
                "connect smtpd mx.example",
                "helo busy",
                "helo mx.client",
                "mail s@example.com alice [s@example.com]",
                "rcpt ok@example.com local",
                "rcpt refuse@example.com local",
                "header Subject s@example.com",
                "unknown XYZZY now",
                "abort",
            ],
            Seen(d));
    }

    [Fact]
    public async Task AbsentMacrosAreNullForStringNullableEmptyForStringAndSpans()
    {
        using Loaded loaded = Loaded.Library("Modern", Samples.Modern);
        FilterDispatcher d = loaded.Registration("Modern", "modern").CreateDispatcher();
        MilterContext context = HostSide.CreateContext();

        await d.ConnectAsync(default, context);
        await d.MailFromAsync(new EnvelopeAddress("<>"u8, default), context);
        await d.HeaderAsync(new HeaderField("To"u8, "x"u8), context);

        Assert.Equal(["connect (none) ", "mail  (none) []", "header To "], Seen(d));
    }

    [Fact]
    public async Task AConfigurableFilterGetsParsedSettingsOrTheDefaultsOfAnEmptySection()
    {
        using Loaded loaded = Loaded.Library("Modern", Samples.Modern);
        MilterRegistration r = loaded.Registration("Modern", "modern");
        Assert.True(r.HasSettings);

        object? settings = r.ParseSettings(new ConfigSection("modern", "test.conf", 3, [new ConfigEntry("greeting", "good day", "test.conf", 4)]));
        Assert.NotNull(settings);
        Assert.Equal("Samples.GreetingSettings", settings.GetType().FullName);

        Assert.Equal(" good day", await EndOfMessageGreeting(r.CreateDispatcher(settings)));
        Assert.Equal(" hello", await EndOfMessageGreeting(r.CreateDispatcher()));
    }

    [Fact]
    public void ASettingsConstructorWinsOverAParameterlessOneAndParseErrorsStayInTheSection()
    {
        using Loaded loaded = Loaded.Library("Limit", Samples.ImplicitSettings);
        MilterRegistration r = loaded.Registration("Limit", "limit");

        // No settings: LimitSettings.Parse(empty section) gives 10 (the parameterless constructor would give 1).
        Assert.Equal(VerdictKind.Accept, r.CreateDispatcher().EndOfMessage(null!, null!).Kind);

        var section = new ConfigSection("limit", "test.conf", 1, [new ConfigEntry("limit", "3", "test.conf", 2)]);
        Assert.Equal(VerdictKind.Reject, r.CreateDispatcher(r.ParseSettings(section)).EndOfMessage(null!, null!).Kind);
        Assert.Empty(section.Errors);

        var broken = new ConfigSection("limit", "test.conf", 1, [new ConfigEntry("limit", "many", "test.conf", 2)]);
        r.ParseSettings(broken);
        Assert.Equal("test.conf:2: limit.limit: not a number", Assert.Single(broken.Errors).ToString());
    }

    /// <summary>Runs end of message with macro i set and returns the value of the X-Greeting header it added.</summary>
    private static async Task<string> EndOfMessageGreeting(FilterDispatcher d)
    {
        MessageEditor editor = HostSide.CreateEditor(ActionFlags.AddHeaders);
        Verdict verdict = await d.EndOfMessageAsync(editor, HostSide.CreateContext(('E', [("i", "Q1")])));
        Assert.Equal(VerdictKind.Accept, verdict.Kind);
        Assert.Equal("eom Q1", Seen(d)[^1]);

        // One SMFIR_ADDHEADER frame: 4-byte length, 'h', then "name\0value\0".
        string frame = System.Text.Encoding.ASCII.GetString(HostSide.EditFrames(editor)[5..]);
        Assert.StartsWith("X-Greeting\0", frame, StringComparison.Ordinal);
        return frame["X-Greeting\0".Length..^1];
    }

    /// <summary>The sample's record of what it saw (ModernFilter.Seen, through the dispatcher's private field).</summary>
    private static List<string> Seen(FilterDispatcher d)
    {
        object filter = d.GetType().GetField("_filter", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(d)!;
        return (List<string>)filter.GetType().GetProperty("Seen")!.GetValue(filter)!;
    }
}
