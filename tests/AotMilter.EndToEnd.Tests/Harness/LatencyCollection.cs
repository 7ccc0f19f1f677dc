using Xunit;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// Tests that measure how long another connection waits for a reply run alone: on two cores, the suite's other test
/// classes (each with daemons and MTAs of its own) would otherwise take the CPU the measured event loop needs, and
/// the wait would measure them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LatencyCollection
{
    public const string Name = "latency measurements";
}
