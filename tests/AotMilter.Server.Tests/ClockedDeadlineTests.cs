using AotMilter.Mta;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>
/// The deadlines at their default lengths, measured on a clock the test moves (<see cref="MilterServerOptions.TimeProvider"/>):
/// a connection is closed when, and only when, its deadline has passed on that clock.
/// </summary>
public class ClockedDeadlineTests
{
    // The loops look at deadlines about once a second of real time.
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(2.5);

    [Fact]
    public async Task TheIdleTimeoutOfTwoHoursClosesAConnectionOnlyOnceItHasPassed()
    {
        var clock = new ManualClock();
        await using TestServer server = TestServer.Start(o => o with { TimeProvider = clock }, new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(mta, MilterEvent.Helo));

        clock.Advance(TimeSpan.FromSeconds(7200));
        Assert.False(await mta.WaitForCloseAsync(Tick));

        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.True(await mta.WaitForCloseAsync(Tick + Tick));
        await server.Logs.WaitForAsync("no command from the MTA for 7210s");
    }

    [Fact]
    public async Task ACompleteCommandRestartsTheIdleTimeout()
    {
        var clock = new ManualClock();
        await using TestServer server = TestServer.Start(o => o with { TimeProvider = clock }, new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(mta, MilterEvent.Connect));

        clock.Advance(TimeSpan.FromSeconds(7000));
        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("again.example.org"));
        clock.Advance(TimeSpan.FromSeconds(7000));
        Assert.False(await mta.WaitForCloseAsync(Tick));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<still@example.org>"));
    }

    [Fact]
    public async Task ANegotiationNotDoneWithin30SecondsOfTheConnectClosesTheConnection()
    {
        var clock = new ManualClock();
        await using TestServer server = TestServer.Start(o => o with { TimeProvider = clock }, new Probe().Register());
        await using MilterClient mta = await server.ConnectAsync();
        await Task.Delay(200);

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(await mta.WaitForCloseAsync(Tick));

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await mta.WaitForCloseAsync(Tick + Tick));
        await server.Logs.WaitForAsync("no option negotiation within 30s of connecting");
    }
}
