using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Filters.Tests.Scanning;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Differential;

/// <summary>
/// AotMilter's rspamd filter against rspamd's own milter (its proxy worker in milter mode, scanning itself), on one
/// rspamd: the same messages as <see cref="ScannerDifferentialTests"/> through two Postfix instances, the same verdict
/// and the same X-Spam and Subject fields for every one.
/// </summary>
public sealed class RspamdDifferentialTests(RspamdDifferentialFixture fixture) : IClassFixture<RspamdDifferentialFixture>
{
    private const string Setup = """
        Two real Postfix instances on one host, one with rspamd's milter proxy (`milter = yes`, `self_scan = yes`), one
        with `aotmilter -f rspamd` on the same rspamd's normal worker (Debian's rspamd 3.4, stock configuration with the
        network modules off; actions greylist 30, add header 60, rewrite subject 90, reject 150). Same: same verdict and
        code, and for delivered mail the same X-Spam and Subject fields.
        """;

    [Fact]
    public Task BothGiveTheSameVerdictAndHeadersForEveryMessage() => fixture.VerifyAsync(
        () => ScannerDifferentialTests.RunAsync(fixture.AnchorPostfix, fixture.OurPostfix, ["X-Spam", "Subject"],
            "Scanning differential: rspamd's milter proxy against aotmilter -f rspamd", Setup));
}

/// <summary>rspamd with its proxy, a Postfix in front of the proxy, and aotmilter -f rspamd with another Postfix.</summary>
public sealed class RspamdDifferentialFixture : MtaFixture
{
    private readonly ProxiedRspamd _rspamd = new();
    private PostfixInstance? _anchorPostfix;
    private PostfixInstance? _ourPostfix;

    public PostfixInstance AnchorPostfix => _anchorPostfix ?? throw new InvalidOperationException("Postfix was not started");

    public PostfixInstance OurPostfix => _ourPostfix ?? throw new InvalidOperationException("Postfix was not started");

    public override async Task InitializeAsync()
    {
        if (RspamdDaemon.Missing is string missing)
        {
            throw new InvalidOperationException(missing);
        }

        await _rspamd.InitializeAsync();
        _anchorPostfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = MilterEndpoint.Inet(_rspamd.ProxyPort) });
        string config = Directory.Combine("aotmilter.conf");
        await File.WriteAllTextAsync(config, $"[rspamd]\naddress = {_rspamd.Address}\n");
        Milter = await MilterDaemon.StartAsync("rspamd", UnixSocket(), "-c", config);
        _ourPostfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = Milter.Endpoint });
    }

    protected override string DescribeMta() => $"{_anchorPostfix?.Describe()}\n--- rspamd ---\n{_rspamd.Log}\n{_ourPostfix?.Describe()}";

    protected override async ValueTask DisposeMtaAsync()
    {
        foreach (IAsyncDisposable? part in new IAsyncDisposable?[] { _anchorPostfix, _ourPostfix })
        {
            if (part is not null)
            {
                await part.DisposeAsync();
            }
        }

        await _rspamd.DisposeAsync();
    }

    private sealed class ProxiedRspamd : RspamdDaemon
    {
        protected override bool WithProxy => true;
    }
}
