using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Server;
using AotMilter.TestFilters;
using AotMilter.Testing;

namespace AotMilter.EndToEnd.Tests.Actions;

/// <summary>
/// The test build of the daemon running the "test-actions" filter (it does what the message asks), one real MTA
/// behind it, and the kit playing that MTA against the same filter in-process.
/// </summary>
public abstract class ActionFixture : MtaFixture
{
    /// <summary>How long the MTA waits for the milter's end-of-message answer without progress.</summary>
    public static readonly TimeSpan MilterTimeout = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The I/O thread the kit's in-process server runs this fixture's messages on. Some tests block it on purpose (a
    /// synchronous end of message that works for seconds); on the process's shared loops, that stalled the kit of
    /// another MTA's action tests, running at the same time, whose connection landed on the blocked loop.
    /// </summary>
    public EventLoopGroup KitLoops { get; } = new(threadCount: 1);

    public abstract IMtaInstance Mta { get; }

    /// <summary>The kit profile that plays this MTA (with its host name).</summary>
    public abstract MtaProfile Profile { get; }

    /// <summary>The test filters' control file (the verdict at connect).</summary>
    public string ControlPath => Directory.Combine("control");

    /// <summary>Writes the control file ("connect=reject"), or removes it.</summary>
    public void SetControl(string? text)
    {
        if (text is null)
        {
            File.Delete(ControlPath);
        }
        else
        {
            File.WriteAllText(ControlPath, text + "\n");
        }
    }

    /// <summary>The filter the daemon runs (and the kit runs in-process).</summary>
    public virtual string Filter => "test-actions";

    protected async Task StartMilterAsync() =>
        Milter = await MilterDaemon.StartTestBuildAsync(Filter, UnixSocket(),
            new Dictionary<string, string> { [ControlFile.Variable] = ControlPath }, "--log-level", "Debug");
}

/// <summary>
/// Postfix for the action tests: <c>milter_content_timeout</c> short (so that a slow end of message is a test of
/// progress, not of patience) and, as for the differential tests, 127.0.0.1 not treated as a local client.
/// </summary>
public sealed class PostfixActionFixture : ActionFixture
{
    private PostfixInstance? _postfix;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override IMtaInstance Mta => Postfix;

    public override MtaProfile Profile { get; } = MtaProfile.Postfix with { HostName = "mta.e2e.test" };

    public override async Task InitializeAsync()
    {
        await StartMilterAsync();
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions
        {
            Milter = Milter!.Endpoint,
            Settings = new Dictionary<string, string>
            {
                ["milter_content_timeout"] = $"{MilterTimeout.TotalSeconds:0}s",
                ["local_header_rewrite_clients"] = "",
            },
        });
    }

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Sendmail for the action tests, with a short read timeout (T=R:4s) for the same reason.</summary>
public sealed class SendmailActionFixture : ActionFixture
{
    private SendmailInstance? _sendmail;

    public SendmailInstance Sendmail => _sendmail ?? throw new InvalidOperationException("Sendmail was not started");

    public override IMtaInstance Mta => Sendmail;

    public override MtaProfile Profile { get; } = MtaProfile.Sendmail with { HostName = SendmailInstance.HostName };

    public override async Task InitializeAsync()
    {
        await StartMilterAsync();
        _sendmail = await SendmailInstance.StartAsync(new SendmailOptions
        {
            Milter = Milter!.Endpoint,
            Timeouts = $"C:5s;S:10s;R:{MilterTimeout.TotalSeconds:0}s;E:1m",
        });
    }

    protected override string DescribeMta() => _sendmail?.Describe() ?? "--- Sendmail not started ---";

    protected override ValueTask DisposeMtaAsync() => _sendmail?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// Postfix speaking milter protocol version 2 (<c>milter_protocol = 2</c>, as Postfix before 2.6 did), with the bundled
/// "log" filter, which needs nothing version 2 lacks; the kit plays it with <see cref="MtaProfile.WithMilterProtocol"/>.
/// </summary>
public sealed class PostfixProtocol2Fixture : ActionFixture
{
    private PostfixInstance? _postfix;

    public override IMtaInstance Mta => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override MtaProfile Profile { get; } = (MtaProfile.Postfix with { HostName = "mta.e2e.test" }).WithMilterProtocol(2);

    public override string Filter => "log";

    public override async Task InitializeAsync()
    {
        await StartMilterAsync();
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions
        {
            Milter = Milter!.Endpoint,
            Settings = new Dictionary<string, string> { ["milter_protocol"] = "2", ["local_header_rewrite_clients"] = "" },
        });
    }

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}
