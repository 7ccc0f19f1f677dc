using System.CommandLine;
using AotMilter.Hosting.Bench;

namespace AotMilter.Hosting;

/// <summary>The subcommands beside the daemon. Each lives in its own file and is listed here once.</summary>
internal static class Tools
{
    public static IEnumerable<Command> Create(IReadOnlyList<MilterRegistration> filters)
    {
        _ = filters;
        return [BenchCommand.Create(), TestTool.Create()];
    }
}
