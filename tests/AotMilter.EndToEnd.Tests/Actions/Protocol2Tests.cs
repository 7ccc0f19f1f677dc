using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Actions;

/// <summary>An old MTA played by the kit: Postfix with milter_protocol = 2, real and simulated, agree.</summary>
public sealed class PostfixProtocol2Tests(PostfixProtocol2Fixture fixture) : IClassFixture<PostfixProtocol2Fixture>
{
    [Fact]
    public Task PostfixWithMilterProtocol2OffersWhatTheKitOffersAndDeliversWhatTheKitPredicts() => fixture.VerifyAsync(async () =>
    {
        ActionRun run = await ActionRun.SendAsync(fixture, $"v2-{Guid.NewGuid():N}", []);

        run.AssertKitAgrees();
        Assert.Equal(2u, run.Kit.Profile.ProtocolVersion);
        Assert.Contains(
            $"MTA v2 actions=0x{(uint)fixture.Profile.OfferedActions:x} protocol=0x{(uint)fixture.Profile.OfferedProtocol:x};",
            fixture.Milter!.Output);
        Assert.Single(run.Delivered!.Parsed.HeaderValues("X-AotMilter"));

        // Version 2 has no DATA event: neither the kit nor Postfix sends one.
        Assert.DoesNotContain(run.Kit.Stages, s => s.Stage == MilterEvent.Data && s.Sent);
    });
}
