using AotMilter.EndToEnd.Tests.Harness;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>
/// aotmilter -f bench behind Postfix with milter_default_action = tempfail, where a test kills the daemon and starts a
/// new one on the same socket, as systemd's Restart= would. Failure messages keep the output of every killed daemon.
/// </summary>
public sealed class PostfixCrashFixture : MtaFixture
{
    private const string Filter = "bench";

    private readonly List<MilterDaemon> _killed = [];
    private PostfixInstance? _postfix;

    public PostfixInstance Postfix => _postfix ?? throw new InvalidOperationException("Postfix was not started");

    public UnixMilterEndpoint MilterSocket { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        MilterSocket = (UnixMilterEndpoint)UnixSocket();
        Milter = await MilterDaemon.StartAsync(Filter, MilterSocket);
        _postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = MilterSocket, DefaultAction = "tempfail" });
    }

    /// <summary>SIGKILLs the running daemon; returns its exit code.</summary>
    public Task<int> KillMilterAsync()
    {
        var milter = Milter ?? throw new InvalidOperationException("no milter is running");
        _killed.Add(milter);
        Milter = null;
        return milter.KillAsync();
    }

    /// <summary>Starts a new daemon on the same socket; returns once it accepts connections there.</summary>
    public async Task RestartMilterAsync() => Milter = await MilterDaemon.StartAsync(Filter, MilterSocket);

    protected override string DescribeMta() =>
        string.Join('\n', [_postfix?.Describe() ?? "--- Postfix not started ---", .. _killed.Select(m => m.Describe())]);

    protected override async ValueTask DisposeMtaAsync()
    {
        try
        {
            if (_postfix is not null)
            {
                await _postfix.DisposeAsync();
            }
        }
        finally
        {
            foreach (var milter in _killed)
            {
                await milter.DisposeAsync();
            }
        }
    }
}
