using AotMilter.EndToEnd.Tests.Harness;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>aotmilter with one filter, and a Sendmail configuration whose -bs sessions pass through it.</summary>
public abstract class SendmailMilterFixture(string filter, bool useInet) : MtaFixture
{
    private SendmailInstance? _sendmail;

    public SendmailInstance Sendmail => _sendmail ?? throw new InvalidOperationException("Sendmail was not started");

    public override async Task InitializeAsync()
    {
        var endpoint = useInet ? MilterEndpoint.Inet(Ports.GetFree()) : UnixSocket();
        Milter = await MilterDaemon.StartAsync(filter, endpoint);
        _sendmail = await SendmailInstance.StartAsync(new SendmailOptions { Milter = Milter.Endpoint, DefaultAction = "tempfail" });
    }

    protected override string DescribeMta() => _sendmail?.Describe() ?? "--- Sendmail not started ---";

    protected override ValueTask DisposeMtaAsync() => _sendmail?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>The log filter over a unix socket.</summary>
public sealed class SendmailLogFixture() : SendmailMilterFixture("log", useInet: false);

/// <summary>The bench filter over TCP (inet:PORT@127.0.0.1), so both socket kinds are exercised with Sendmail.</summary>
public sealed class SendmailBenchFixture() : SendmailMilterFixture("bench", useInet: true);

/// <summary>Sendmail configured for a milter that is not running, with the given INPUT_MAIL_FILTER F= flag.</summary>
public abstract class SendmailMilterDownFixture(string defaultAction) : MtaFixture
{
    private SendmailInstance? _sendmail;

    public SendmailInstance Sendmail => _sendmail ?? throw new InvalidOperationException("Sendmail was not started");

    public string DefaultAction => defaultAction;

    public override async Task InitializeAsync() =>
        _sendmail = await SendmailInstance.StartAsync(new SendmailOptions { Milter = UnixSocket(), DefaultAction = defaultAction });

    protected override string DescribeMta() => _sendmail?.Describe() ?? "--- Sendmail not started ---";

    protected override ValueTask DisposeMtaAsync() => _sendmail?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>F=T: tempfail when the milter is unavailable.</summary>
public sealed class SendmailMilterDownTempfailFixture() : SendmailMilterDownFixture("tempfail");

/// <summary>F=R: reject when the milter is unavailable.</summary>
public sealed class SendmailMilterDownRejectFixture() : SendmailMilterDownFixture("reject");

/// <summary>No F= flag: the milter is ignored when unavailable.</summary>
public sealed class SendmailMilterDownAcceptFixture() : SendmailMilterDownFixture("accept");
