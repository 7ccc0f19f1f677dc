using AotMilter.EndToEnd.Tests.Harness;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>aotmilter with one filter, and a Postfix instance whose smtpd passes every session through it.</summary>
public abstract class PostfixMilterFixture(string filter) : MtaFixture
{
    private PostfixInstance? _postfix;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override async Task InitializeAsync()
    {
        Milter = await MilterDaemon.StartAsync(filter, UnixSocket());
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = Milter.Endpoint });
    }

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}

public sealed class PostfixLogFixture() : PostfixMilterFixture("log");

public sealed class PostfixBenchFixture() : PostfixMilterFixture("bench");

/// <summary>Postfix configured for a milter that is not running, with the given milter_default_action.</summary>
public abstract class PostfixMilterDownFixture(string defaultAction) : MtaFixture
{
    private PostfixInstance? _postfix;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public string DefaultAction => defaultAction;

    public override async Task InitializeAsync() =>
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = UnixSocket(), DefaultAction = defaultAction });

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}

public sealed class PostfixMilterDownTempfailFixture() : PostfixMilterDownFixture("tempfail");

public sealed class PostfixMilterDownRejectFixture() : PostfixMilterDownFixture("reject");

public sealed class PostfixMilterDownAcceptFixture() : PostfixMilterDownFixture("accept");
