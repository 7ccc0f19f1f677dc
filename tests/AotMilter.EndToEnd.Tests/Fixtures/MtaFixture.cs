using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Fixtures;

/// <summary>
/// Base of the fixtures: owns a temp directory for the milter socket, the milter process (if any) and an MTA, and
/// turns any failure inside <see cref="VerifyAsync"/> into one that carries the MTA log and the milter's output.
/// </summary>
public abstract class MtaFixture : IAsyncLifetime
{
    /// <summary>How long to wait for a message to reach the sink.</summary>
    public static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    public TempDirectory Directory { get; } = new("milter");

    /// <summary>The milter under test; null for fixtures that deliberately run without one.</summary>
    public MilterDaemon? Milter { get; protected set; }

    public abstract Task InitializeAsync();

    /// <summary>The MTA's side of a failure message (log, sink).</summary>
    protected abstract string DescribeMta();

    protected abstract ValueTask DisposeMtaAsync();

    /// <summary>Everything worth reading when a test fails.</summary>
    public string Describe() => $"{DescribeMta()}\n{Milter?.Describe() ?? "--- no milter process ---"}";

    /// <summary>Runs a test body; if it throws, rethrows with <see cref="Describe"/> appended.</summary>
    public async Task VerifyAsync(Func<Task> test)
    {
        try
        {
            await test();
        }
        catch (Exception e)
        {
            // Give the MTA a moment to flush its log before reading it.
            await Task.Delay(300);
            throw new EndToEndFailure($"{e.GetType().Name}: {e.Message}\n\n{Describe()}", e);
        }
    }

    /// <summary>The default unix socket for the milter (in a 0755 directory, so that user postfix can reach it).</summary>
    protected MilterEndpoint UnixSocket() => MilterEndpoint.Unix(Directory.Combine("milter.sock"));

    public async Task DisposeAsync()
    {
        try
        {
            await DisposeMtaAsync();
        }
        finally
        {
            if (Milter is not null)
            {
                await Milter.DisposeAsync();
            }

            Directory.Dispose();
        }
    }
}
