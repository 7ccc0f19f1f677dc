using System.Text;
using AotMilter.Filters.Tests.Infrastructure;
using AotMilter.Mta;
using AotMilter.Server.Configuration;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests;

public class ReloadTests
{
    [Fact]
    public async Task NewConnectionsGetNewSettingsAndAConnectionInFlightKeepsTheOld()
    {
        await using FilterHost host = FilterHost.Start("[policy]\nsender = reject @old.example", "policy");
        await using MilterClient before = await host.ConnectAsync();

        SettingsLoadResult reloaded = FilterHost.Load("[policy]\nsender = reject @new.example", host.Chain.Filters);
        Assert.True(reloaded.IsValid);
        host.Chain.UpdateSettings(reloaded.Settings);

        await using MilterClient after = await host.ConnectAsync();
        Assert.True((await before.MailFromAsync("<a@old.example>")).IsRejection);
        Assert.Equal(MilterReply.Continue, await before.MailFromAsync("<a@new.example>"));
        Assert.Equal(MilterReply.Continue, await after.MailFromAsync("<a@old.example>"));
        Assert.True((await after.MailFromAsync("<a@new.example>")).IsRejection);
    }

    [Fact]
    public void ABadNewFileIsReportedAndLeavesTheSettingsAsTheyWere()
    {
        var chain = new Server.FilterChain([FilterHost.Filter("policy")], FilterHost.Load("[policy]\nsender = reject @old.example", [FilterHost.Filter("policy")]).Settings);
        IReadOnlyList<object?> current = chain.Settings;
        SettingsLoadResult bad = FilterHost.Load("[policy]\nsender = nonsense", chain.Filters);
        Assert.False(bad.IsValid);
        Assert.Equal("test.conf:2: policy.sender", $"{bad.Errors[0].File}:{bad.Errors[0].Line}: {bad.Errors[0].Field}");
        Assert.Same(current[0], chain.Settings[0]);
        _ = Encoding.UTF8;
    }
}
