using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>Three daemons with ratelimit and greylist in one Redis, behind HAProxy; the tests talk milter to HAProxy.</summary>
public sealed class ScaleOutFixture : IAsyncLifetime
{
    public const int SenderLimit = 5;

    public DaemonPool Pool { get; private set; } = null!;

    public async Task InitializeAsync() => Pool = await DaemonPool.StartAsync(3, ["ratelimit", "greylist"], $$"""
        [ratelimit]
        sender = {{SenderLimit}}/1h
        store = {redis}
        store-timeout = 500ms

        [greylist]
        delay = 1s
        store = {redis}
        store-timeout = 500ms
        exempt-senders = @ratelimit.test
        """);

    public async Task DisposeAsync()
    {
        if (Pool is not null)
        {
            await Pool.DisposeAsync();
        }
    }
}

/// <summary>
/// Real Postfix (milter_default_action = tempfail) whose milter is HAProxy in front of three daemons running
/// ratelimit (in Redis) and bench (which marks every message it filtered with X-Bench).
/// </summary>
public sealed class ScaleOutPostfixFixture : MtaFixture
{
    private PostfixInstance? _postfix;

    public DaemonPool Pool { get; private set; } = null!;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override async Task InitializeAsync()
    {
        Pool = await DaemonPool.StartAsync(3, ["ratelimit", "bench"], """
            [ratelimit]
            sender = 100000/1h
            store = {redis}
            store-timeout = 2s
            """);
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = Pool.Haproxy.Endpoint, DefaultAction = "tempfail" });
    }

    protected override string DescribeMta() => $"{_postfix?.Describe() ?? "--- Postfix not started ---"}\n{Pool?.Describe()}";

    protected override async ValueTask DisposeMtaAsync()
    {
        // Postfix first, while its milters still answer; the pool (Redis, daemons, HAProxy) in any case.
        await using DaemonPool? pool = Pool;
        if (_postfix is not null)
        {
            await _postfix.DisposeAsync();
        }
    }
}
