using System.Diagnostics;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// A log destination that stops taking lines (a stalled journal, a pipe nobody reads) must not make the daemon hold
/// every line a flood of connections writes: the queue of lines is bounded, later lines are dropped, mail goes on.
/// </summary>
public sealed class StalledLogTests
{
    [Fact]
    public async Task WithStandardErrorUnreadAFloodOfConnectionsLeavesTheResidentSizeFlatAndEveryMessageServed()
    {
        using var dir = new TempDirectory("stalled-log");
        string socket = dir.Combine("milter.sock");
        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary())
        {
            // Standard error is redirected and never read: once the pipe's buffer is full, every write blocks.
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-p", $"unix:{socket}", "-f", "bench", "--allow-root" })
        {
            start.ArgumentList.Add(argument);
        }

        using Process daemon = Process.Start(start)!;
        try
        {
            for (int i = 0; i < 100 && !File.Exists(socket); i++)
            {
                await Task.Delay(50);
            }

            // One connection per message, each ending with a log line: the pipe is full within the first second.
            var rss = new List<double>();
            for (int round = 0; round < 3; round++)
            {
                ProcessResult run = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(),
                    ["bench", "--socket", $"unix:{socket}", "--connections", "64", "--duration", "3"], TimeSpan.FromSeconds(60));
                Assert.True(run.Succeeded, run.ToString());
                Assert.Contains(" errors=0", run.StdOut, StringComparison.Ordinal);
                rss.Add(ProcessMemory.Of(daemon.Id).RssMiB);
            }

            // Unbounded, the queue grew by about 55 MiB per 4 s at this rate; bounded, it fills once and stays.
            Assert.True(rss[2] - rss[0] < 16, $"resident size after each round: {string.Join(", ", rss.Select(r => r.ToString("0.0")))} MiB");
            Assert.True(rss[2] < 96, $"resident size after each round: {string.Join(", ", rss.Select(r => r.ToString("0.0")))} MiB");
        }
        finally
        {
            daemon.Kill();
            await daemon.WaitForExitAsync();
        }
    }
}
