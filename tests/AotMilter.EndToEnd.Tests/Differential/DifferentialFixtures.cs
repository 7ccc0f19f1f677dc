using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.TestFilters;
using AotMilter.Testing;

namespace AotMilter.EndToEnd.Tests.Differential;

/// <summary>
/// The test build of the daemon with the recording "test-diff" filter, and one real MTA behind it: everything a
/// differential test needs to send a message through the real MTA and through the kit playing that MTA.
/// </summary>
public abstract class DifferentialFixture : MtaFixture
{
    private int _sequence;

    /// <summary>Where the daemon writes what the filter saw, one file per message (KEY.txt).</summary>
    public string RecordDirectory => Directory.Combine("record");

    public abstract IMtaInstance Mta { get; }

    /// <summary>The kit profile that plays this MTA, with its host name.</summary>
    public abstract MtaProfile Profile { get; }

    /// <summary>A unique sender local part for the next message; the recording filter files its transcript under it.</summary>
    public string NextKey(string prefix) => $"{prefix}-{Interlocked.Increment(ref _sequence):D4}";

    protected async Task StartMilterAsync()
    {
        string record = Directory.CreateSubdirectory("record");
        File.SetUnixFileMode(record, (UnixFileMode)0b111_111_111);
        Milter = await MilterDaemon.StartTestBuildAsync("test-diff", UnixSocket(),
            new Dictionary<string, string> { [Transcripts.Variable] = record });
    }
}

/// <summary>
/// Postfix for the differential tests, with <c>local_header_rewrite_clients</c> empty: the tests connect from
/// 127.0.0.1, which Postfix by default counts as a local client and "fixes" (adds Message-Id, Date and From, qualifies
/// bare addresses in From:/To:/Cc:); an MX sees remote clients and does none of that, which is what the kit's Postfix
/// profile plays. Nothing else differs from the default configuration.
/// </summary>
public sealed class PostfixDifferentialFixture : DifferentialFixture
{
    private PostfixInstance? _postfix;

    public override IMtaInstance Mta => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public override MtaProfile Profile { get; } = MtaProfile.Postfix with { HostName = "mta.e2e.test" };

    public override async Task InitializeAsync()
    {
        await StartMilterAsync();
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions
        {
            Milter = Milter!.Endpoint,
            Settings = new Dictionary<string, string> { ["local_header_rewrite_clients"] = "" },
        });
    }

    protected override string DescribeMta() => _postfix?.Describe() ?? "--- Postfix not started ---";

    protected override ValueTask DisposeMtaAsync() => _postfix?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// Sendmail for the differential tests, with its MIME sanity pass off (<c>MaxMimeHeaderLength 0/0</c>): by default
/// Sendmail walks the MIME structure of every message it relays, re-folding long MIME headers and appending the
/// closing boundary of any multipart that lacks one. That is Sendmail repairing MIME on its own, whatever the milter did,
/// and the kit does not play it; everything else is the configuration of the other end-to-end tests.
/// </summary>
public sealed class SendmailDifferentialFixture : DifferentialFixture
{
    private SendmailInstance? _sendmail;

    public override IMtaInstance Mta => _sendmail ?? throw new InvalidOperationException("Sendmail was not started");

    public override MtaProfile Profile { get; } = MtaProfile.Sendmail with { HostName = SendmailInstance.HostName };

    public override async Task InitializeAsync()
    {
        await StartMilterAsync();
        _sendmail = await SendmailInstance.StartAsync(new SendmailOptions
        {
            Milter = Milter!.Endpoint,
            ExtraMcLines = ["define(`confMAX_MIME_HEADER_LENGTH', `0/0')dnl"],
        });
    }

    protected override string DescribeMta() => _sendmail?.Describe() ?? "--- Sendmail not started ---";

    protected override ValueTask DisposeMtaAsync() => _sendmail?.DisposeAsync() ?? ValueTask.CompletedTask;
}
