using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class FilterChainTests
{
    private static MilterRegistration Filter(string name, ProtocolFlags protocol, ActionFlags actions = ActionFlags.None)
        => new Probe().Register(protocol, actions, name);

    [Fact]
    public void AnEventIsSkippedOrLeftWithoutReplyOnlyWhenNoFilterNeedsIt()
    {
        var chain = new FilterChain(
        [
            Filter("a", ProtocolFlags.NoHelo | ProtocolFlags.NoBody | ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyConnect),
            Filter("b", ProtocolFlags.NoHelo | ProtocolFlags.NoUnknown | ProtocolFlags.NoReplyHeader),
        ]);

        // Body is not skipped: b reads it. Only the first filter sees content live (b is shown it at end of
        // message), and a does not handle the body, so nobody answers body chunks live.
        Assert.Equal(ProtocolFlags.NoHelo | ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyBody, chain.Protocol);
    }

    [Fact]
    public void TheActionsAreTheUnionAndCapabilitiesAreKept()
    {
        var chain = new FilterChain(
        [
            Filter("a", ProtocolFlags.HeaderLeadingSpace, ActionFlags.AddHeaders),
            Filter("b", ProtocolFlags.RejectedRecipients, ActionFlags.Quarantine),
        ]);

        Assert.Equal(ActionFlags.AddHeaders | ActionFlags.Quarantine, chain.Actions);
        Assert.Equal(ProtocolFlags.HeaderLeadingSpace | ProtocolFlags.RejectedRecipients, chain.Protocol);
        Assert.Equal("a,b", chain.Names);
    }

    [Fact]
    public void SkipIsOnlyUsedByAChainOfOneFilter()
    {
        Assert.Equal(ProtocolFlags.Skip, new FilterChain([Filter("a", ProtocolFlags.Skip)]).Protocol);
        Assert.Equal(ProtocolFlags.None, new FilterChain([Filter("a", ProtocolFlags.Skip), Filter("b", ProtocolFlags.Skip)]).Protocol);
    }

    [Fact]
    public void AnEmptyChainIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new FilterChain([]));
    }

    [Fact]
    public void EachConnectionGetsNewFilterInstances()
    {
        var probe = new Probe();
        var chain = new FilterChain([probe.Register(), probe.Register()]);

        FilterDispatcher[] first = chain.CreateDispatchers();
        FilterDispatcher[] second = chain.CreateDispatchers();

        Assert.Equal(4, probe.Instances);
        Assert.NotSame(first[0], second[0]);
    }

    [Fact]
    public void AResettableFilterInstanceIsKeptOnlyWhileItResetsAndItsSettingsAreCurrent()
    {
        int made = 0;
        var outcomes = new Queue<Func<bool>>();
        var registration = new MilterRegistration("r", null, "Resettable", ProtocolFlags.None, ActionFlags.None, [],
            settings => new Resettable(++made, settings, () => outcomes.Dequeue()()), parseSettings: null);
        var chain = new FilterChain([registration]);
        FilterDispatcher[] dispatchers = [];
        object?[] madeWith = [];

        chain.CreateDispatchers(ref dispatchers, ref madeWith);
        FilterDispatcher first = dispatchers[0];

        outcomes.Enqueue(() => true);
        chain.CreateDispatchers(ref dispatchers, ref madeWith);
        Assert.Same(first, dispatchers[0]);

        outcomes.Enqueue(() => false);
        chain.CreateDispatchers(ref dispatchers, ref madeWith);
        Assert.NotSame(first, dispatchers[0]);
        FilterDispatcher second = dispatchers[0];

        outcomes.Enqueue(() => throw new InvalidOperationException("reset failed"));
        chain.CreateDispatchers(ref dispatchers, ref madeWith);
        Assert.NotSame(second, dispatchers[0]);

        // Reloaded settings: the instance made with the old ones is not even asked.
        var reloaded = new object();
        chain.UpdateSettings([reloaded]);
        chain.CreateDispatchers(ref dispatchers, ref madeWith);
        Assert.Same(reloaded, ((Resettable)dispatchers[0]).Settings);
        Assert.Empty(outcomes);
        Assert.Equal(4, made);
    }

    private sealed class Resettable(int number, object? settings, Func<bool> reset) : FilterDispatcher
    {
        public int Number { get; } = number;

        public object? Settings { get; } = settings;

        public override bool TryReset() => reset();
    }

    [Fact]
    public async Task ASkipFromOneFilterOfAChainIsSentAsContinue()
    {
        var skipper = new Probe { Decide = (e, _, _) => e == MilterEvent.Body ? Verdict.Skip : Verdict.Continue };
        var reader = new Probe();
        await using TestServer server = TestServer.Start(skipper.Register(ProtocolFlags.Skip, name: "skipper"), reader.Register(name: "reader"));
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(mta, MilterEvent.Body));
        Assert.DoesNotContain("body 8 bytes", reader.Events);

        // The later filter is shown the whole body at end of message, although the first one skipped it.
        Assert.Equal(MilterReply.Continue, await Transcript.SendAsync(mta, MilterEvent.EndOfMessage));
        Assert.Contains("body 8 bytes", reader.Events);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(0u)]
    public void NegotiatorRefusesVersionsBelowTwo(uint version)
    {
        MilterProtocolException ex = Assert.Throws<MilterProtocolException>(
            () => Negotiator.Negotiate(new OptionNegotiation(version, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6), ProtocolFlags.None, ActionFlags.None));

        Assert.Equal(MilterProtocolError.UnsupportedVersion, ex.Error);
    }

    [Fact]
    public void NegotiatorNamesTheMissingActions()
    {
        MilterProtocolException ex = Assert.Throws<MilterProtocolException>(
            () => Negotiator.Negotiate(new OptionNegotiation(6, (ActionFlags)0x3F, ProtocolFlags.AllVersion6), ProtocolFlags.None, ActionFlags.ChangeSender | ActionFlags.AddHeaders));

        Assert.Equal(MilterProtocolError.ActionsNotOffered, ex.Error);
        Assert.Contains("ChangeSender", ex.Message, StringComparison.Ordinal);
    }
}
