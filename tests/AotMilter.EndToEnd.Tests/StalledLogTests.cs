using System.Diagnostics;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// A log destination that stops taking lines (a stalled journal, a pipe nobody reads) must not make the daemon hold
/// every line a flood of connections writes: the queue of lines is bounded, later lines are dropped and counted, mail
/// goes on; once the destination takes lines again, the log says how many it lost.
/// </summary>
public sealed class StalledLogTests
{
    private static readonly System.Text.RegularExpressions.Regex DroppedReport =
        new(@" WRN (\d+) log lines dropped: the log destination did not take them while 16384 lines waited$");

    [Fact]
    public async Task WithStandardErrorUnreadAFloodOfConnectionsLeavesTheResidentSizeFlatAndEveryMessageServed()
    {
        using var dir = new TempDirectory("stalled-log");
        string socket = dir.Combine("milter.sock");
        int metricsPort = Ports.GetFree();
        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary())
        {
            // Standard error is redirected and never read: once the pipe's buffer is full, every write blocks.
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-p", $"unix:{socket}", "-f", "bench", "--allow-root", "--metrics", $"inet:{metricsPort}@127.0.0.1" })
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

            // The lines dropped are counted, and at most the bound waits.
            Dictionary<string, double> stalled = await ScrapeAsync(metricsPort);
            Assert.True(stalled["aotmilter_log_lines_dropped_total"] > 0, "no log line counted as dropped while standard error was unread");
            Assert.InRange(stalled["aotmilter_log_lines_queued"], 1, 16_384);

            // Standard error read again: the queue drains, and the next lines begin with how many were lost.
            var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
            Task reading = Task.Run(async () =>
            {
                while (await daemon.StandardError.ReadLineAsync() is { } line)
                {
                    lines.Enqueue(line);
                }
            });
            var waited = Stopwatch.StartNew();
            string? report = null;
            while (report is null && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                ProcessResult more = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(),
                    ["bench", "--socket", $"unix:{socket}", "--connections", "2", "--duration", "0.5"], TimeSpan.FromSeconds(60));
                Assert.True(more.Succeeded, more.ToString());
                report = lines.FirstOrDefault(l => DroppedReport.IsMatch(l));
            }

            Assert.True(report is not null, $"no report of dropped lines in {lines.Count} lines read, the last: {lines.LastOrDefault()}");
            long reported = lines.Select(l => DroppedReport.Match(l)).Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(reported >= stalled["aotmilter_log_lines_dropped_total"], $"reported {reported}, counted {stalled["aotmilter_log_lines_dropped_total"]} before: {report}");

            // Every line that was let in is taken off the queue once written: at rest nothing waits.
            Dictionary<string, double> drained = await ScrapeAsync(metricsPort);
            for (int i = 0; i < 50 && drained["aotmilter_log_lines_queued"] != 0; i++)
            {
                await Task.Delay(100);
                drained = await ScrapeAsync(metricsPort);
            }

            Assert.Equal(0, drained["aotmilter_log_lines_queued"]);
            Assert.Equal(reported, drained["aotmilter_log_lines_dropped_total"]);
        }
        finally
        {
            daemon.Kill();
            await daemon.WaitForExitAsync();
        }
    }

    private static async Task<Dictionary<string, double>> ScrapeAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("aotmilter_log_lines_", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
