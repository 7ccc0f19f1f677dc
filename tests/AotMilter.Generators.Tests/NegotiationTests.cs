extern alias Generator;

using AotMilter.Protocol;
using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>The negotiation each filter's registration carries, derived at compile time, read back at run time.</summary>
public class NegotiationTests
{
    private const ProtocolFlags AllSkips = ProtocolFlags.AllSkips;

    [Fact]
    public void AFilterHandlingEveryEventSkipsNothingAndDerivesEveryAction()
    {
        using Loaded loaded = Loaded.Library("Every", Samples.EveryCallback);
        MilterRegistration r = loaded.Registration("Every", "every");

        // void RcptTo and Header: no reply; the body names Verdict.Skip.
        Assert.Equal(ProtocolFlags.NoReplyRcpt | ProtocolFlags.NoReplyHeader | ProtocolFlags.Skip, r.Protocol);
        Assert.Equal(
            ActionFlags.AddHeaders | ActionFlags.ChangeHeaders | ActionFlags.AddRecipient | ActionFlags.AddRecipientWithArgs
                | ActionFlags.DeleteRecipient | ActionFlags.ChangeBody | ActionFlags.ChangeSender | ActionFlags.Quarantine,
            r.Actions);
        Assert.Equal("Samples.EveryCallbackFilter", r.TypeName);
        Assert.Equal("Handles every event \"quoted\"", r.Description);
    }

    [Fact]
    public void AFilterWithOnlyEndOfMessageSkipsEveryOtherEvent()
    {
        using Loaded loaded = Loaded.Library("EomOnly", Samples.EndOfMessageOnly);
        MilterRegistration r = loaded.Registration("EomOnly", "eom-only");

        Assert.Equal(AllSkips, r.Protocol);
        Assert.Equal((ProtocolFlags)0x37Fu, r.Protocol);
        Assert.Equal(ActionFlags.None, r.Actions);
        Assert.Equal("", r.Description);
    }

    [Fact]
    public void EditsMadeInHelperMethodsAndNestedTypesOfTheClassCountAndABodyThatNeverSkipsAsksForNoSkip()
    {
        using Loaded loaded = Loaded.Library("Helpers", Samples.HelperEdits);
        MilterRegistration r = loaded.Registration("Helpers", "helpers");

        Assert.Equal(AllSkips & ~ProtocolFlags.NoBody, r.Protocol);
        Assert.Equal(ActionFlags.AddHeaders | ActionFlags.ChangeHeaders, r.Actions);
        Assert.Equal("Samples.Deeper.Outer.HelperEditsFilter", r.TypeName);
    }

    [Theory]
    [InlineData("=> Decide(chunk.Length);", ProtocolFlags.Skip)]
    [InlineData("=> Outer(chunk.Length);", ProtocolFlags.Skip)]
    [InlineData("=> Shared.Decide(chunk.Length);", (ProtocolFlags)0)]
    [InlineData("=> chunk.IsEmpty ? Verdict.Continue : Verdict.Reject;", (ProtocolFlags)0)]
    public void ABodyThatSkipsThroughAHelperOfItsClassAsksForSkipsAndOneThatSkipsThroughAnotherClassDoesNot(string body, ProtocolFlags skip)
    {
        using Loaded loaded = Loaded.Library("Helped", $$"""
            using System;
            using AotMilter;

            public static class Shared
            {
                public static Verdict Decide(int length) => length > 10 ? Verdict.Skip : Verdict.Continue;
            }

            [Milter("helped")]
            public sealed class Helped
            {
                [OnBody]
                public Verdict Body(ReadOnlySpan<byte> chunk) {{body}}

                private Verdict Outer(int length) => length == 0 ? Verdict.Continue : Decide(length);

                private static Verdict Decide(int length) => length > 10 ? Verdict.Skip : Verdict.Continue;
            }
            """);
        MilterRegistration r = loaded.Registration("Helped", "helped");

        Assert.Equal(skip, r.Protocol & ProtocolFlags.Skip);
    }

    [Fact]
    public void OneMethodCanHandleTwoEventsAndAVoidEndOfMessageStillReplies()
    {
        using Loaded loaded = Loaded.Library("Odd", Samples.OddShapes);
        MilterRegistration r = loaded.Registration("Odd", "odd_shapes-2");

        Assert.Equal(AllSkips & ~(ProtocolFlags.NoMail | ProtocolFlags.NoRcpt), r.Protocol);
        Assert.Equal(ActionFlags.None, r.Actions);

        FilterDispatcher dispatcher = r.CreateDispatcher();
        Assert.Equal(VerdictKind.Discard, dispatcher.MailFrom(new EnvelopeAddress("<X@example.com>"u8, default), null!).Kind);
        Assert.Equal(VerdictKind.Continue, dispatcher.RcptTo(new EnvelopeAddress("<y@example.com>"u8, default), null!).Kind);
        Assert.Equal(VerdictKind.Continue, dispatcher.EndOfMessage(null!, null!).Kind);
    }

    [Fact]
    public void TheBundledBenchFilterSkipsWhatItDoesNotHandleAndDoesNotReplyToHeadersOrMailFrom()
    {
        using Loaded loaded = Loaded.Library("Bundled", Samples.Bundled);
        MilterRegistration r = loaded.Registration("Bundled", "bench");

        Assert.Equal(
            ProtocolFlags.NoConnect | ProtocolFlags.NoHelo | ProtocolFlags.NoData | ProtocolFlags.NoEndOfHeaders
                | ProtocolFlags.NoBody | ProtocolFlags.NoUnknown | ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyMail,
            r.Protocol);
        Assert.Equal((ProtocolFlags)0x43D3u, r.Protocol);
        Assert.Equal(ActionFlags.AddHeaders, r.Actions);
        Assert.Equal("AotMilter.Filters.BenchFilter", r.TypeName);
    }

    [Fact]
    public void TheBundledLogFilterHandlesEveryEventWithoutRepliesExceptEndOfMessageAndAsksForTheMacrosItLogs()
    {
        using Loaded loaded = Loaded.Library("Bundled", Samples.Bundled);
        MilterRegistration r = loaded.Registration("Bundled", "log");

        Assert.Equal(ProtocolFlags.AllNoReplies, r.Protocol);
        Assert.Equal((ProtocolFlags)0xFF080u, r.Protocol);
        Assert.Equal(ActionFlags.AddHeaders, r.Actions);
        Assert.False(string.IsNullOrEmpty(r.Description));
        Assert.Equal(
            ["Connect: {daemon_name}", "MailFrom: {auth_authen}", "EndOfMessage: i"],
            r.Macros.Select(m => $"{m.Stage}: {string.Join(" ", m.Names)}"));
        Assert.False(r.HasSettings);
    }

    [Fact]
    public void TheBundledBenchFilterRejectsItsRecipientCountsHeadersAndResetsAtMailFromAndAbort()
    {
        using Loaded loaded = Loaded.Library("Bundled", Samples.Bundled);
        FilterDispatcher bench = loaded.Registration("Bundled", "bench").CreateDispatcher();

        Verdict rejected = bench.RcptTo(new EnvelopeAddress("<Reject@Example.COM>"u8, default), null!);
        Assert.Equal(VerdictKind.Reject, rejected.Kind);
        Assert.Equal("550 5.7.1 Recipient rejected by bench filter", rejected.Reply?.ToString());
        Assert.True(bench.RcptTo(new EnvelopeAddress("<ok@example.com>"u8, default), null!).IsContinue);

        Assert.Equal("X-Bench\u00003\u0000", EndOfMessageHeader(bench, headers: 3));
        Assert.Equal("X-Bench\u000012\u0000", EndOfMessageHeader(bench, headers: 12));

        for (int i = 0; i < 5; i++)
        {
            bench.Header(new HeaderField("A"u8, "b"u8), null!);
        }

        bench.Abort(null!);
        Assert.Equal("X-Bench\u00000\u0000", EndOfMessageHeader(bench, headers: 0));
    }

    [Fact]
    public void FlagCommentsNameSingleBitsInWireOrderNeverComposites()
    {
        Assert.Equal("None", FlagNames.DescribeProtocol(0));
        Assert.Equal(
            "NoConnect | NoHelo | NoMail | NoRcpt | NoBody | NoHeaders | NoEndOfHeaders | NoReplyHeader | NoUnknown | NoData",
            FlagNames.DescribeProtocol((uint)ProtocolFlags.AllSkips | (uint)ProtocolFlags.NoReplyHeader));
        Assert.Equal("AddHeaders | SetSymbolList | 0x200", FlagNames.DescribeActions((uint)ActionFlags.SetSymbolList | 0x201));
    }

    /// <summary>Runs one message (MAIL FROM, headers, end of message) and returns the payload of the header it added.</summary>
    private static string EndOfMessageHeader(FilterDispatcher bench, int headers)
    {
        Assert.True(bench.MailFrom(new EnvelopeAddress("<s@example.com>"u8, default), null!).IsContinue);
        for (int i = 0; i < headers; i++)
        {
            Assert.True(bench.Header(new HeaderField("Name"u8, "value"u8), null!).IsContinue);
        }

        MessageEditor editor = HostSide.CreateEditor(ActionFlags.AddHeaders);
        Assert.Equal(VerdictKind.Accept, bench.EndOfMessage(editor, null!).Kind);
        Assert.Equal(1, editor.Count);

        // One SMFIR_ADDHEADER frame: 4-byte length, 'h', then "name\0value\0".
        ReadOnlySpan<byte> frame = HostSide.EditFrames(editor);
        Assert.Equal((byte)'h', frame[4]);
        return System.Text.Encoding.ASCII.GetString(frame[5..]);
    }
}
