using System.Net;
using System.Net.Sockets;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The published daemon with 64 descriptors (prlimit), all taken by MTA connections that stay open, and more MTA and
/// scrape connections waiting in both listeners' backlogs: every accept fails with EMFILE. Both listeners must then
/// wait instead of retrying at full speed, write a line now and then rather than one per failure, and serve again as
/// soon as descriptors are free.
/// </summary>
public sealed class DescriptorLimitTests
{
    private const int DescriptorLimit = 64;

    [Fact]
    public async Task WithEveryDescriptorTakenTheDaemonIdlesLogsLittleAndServesMilterAndMetricsAgainAfterwards()
    {
        using var dir = new TempDirectory("fdlimit");
        string socket = dir.Combine("milter.sock");
        int port = Ports.GetFree();
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket), "--metrics", $"inet:{port}@127.0.0.1");
        int pid = milter.ProcessId;
        await ProcStat.LimitDescriptorsAsync(pid, DescriptorLimit);

        var held = new List<Socket>();
        try
        {
            // More milter connections than descriptors: the daemon takes what it can, the rest wait in the backlog.
            for (int i = 0; i < DescriptorLimit + 20; i++)
            {
                var mta = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                held.Add(mta);
                await mta.ConnectAsync(new UnixDomainSocketEndPoint(socket));
            }

            await MetricsEndpointLimitsTests.WaitUntilAsync(() => ProcStat.OpenDescriptors(pid) >= DescriptorLimit, TimeSpan.FromSeconds(5), milter,
                () => $"the daemon holds only {ProcStat.OpenDescriptors(pid)} descriptors");

            // Scrapers only once every descriptor is taken: they wait in the backlog of a listener that cannot accept.
            for (int i = 0; i < 20; i++)
            {
                var scraper = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                held.Add(scraper);
                await scraper.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            }

            await MetricsEndpointLimitsTests.WaitUntilAsync(() => milter.Output.Contains("ERR accept failed: errno 24", StringComparison.Ordinal), TimeSpan.FromSeconds(5), milter,
                () => "no accept failure logged");
            await Task.Delay(1000);

            int linesBefore = LineCount(milter);
            TimeSpan cpuBefore = ProcStat.CpuTime(pid);
            await Task.Delay(TimeSpan.FromSeconds(5));
            TimeSpan cpu = ProcStat.CpuTime(pid) - cpuBefore;
            int lines = LineCount(milter) - linesBefore;

            // A loop retrying accept takes a whole core (4.8 s of 5); pausing 100 ms between tries takes almost none.
            Assert.True(cpu < TimeSpan.FromSeconds(0.5), $"{cpu.TotalSeconds:0.00} s of CPU in 5 s at the descriptor limit\n{milter.Describe()}");

            // Both listeners fail about 10 times a second each; one line per 10 s is all that may show.
            Assert.True(lines <= 2, $"{lines} log lines in 5 s at the descriptor limit\n{milter.Describe()}");
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }

        string text = await MetricsEndpointLimitsTests.WaitForScrapeAsync(port, TimeSpan.FromSeconds(10), milter);
        Assert.Contains("aotmilter_connections_total", text);

        ProcessResult bench = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", $"unix:{socket}", "--messages", "10"], TimeSpan.FromMinutes(1));
        Assert.True(bench.Succeeded, $"{bench}\n{milter.Describe()}");
        Assert.Contains(" ok=10 ", bench.StdOut);
        Assert.Contains(" errors=0 ", bench.StdOut);

        // The lines that were written say how many failures they stand for.
        foreach (string line in new[] { "ERR accept failed: errno 24 (Too many open files); pausing accepts for 100 ms (", "ERR metrics: accept failed: out of file descriptors (EMFILE or ENFILE); pausing accepts for 100 ms (" })
        {
            Assert.True(milter.Output.Contains(line, StringComparison.Ordinal), $"no line with \"{line}\"\n{milter.Describe()}");
        }
    }

    private static int LineCount(MilterDaemon milter) => milter.Output.Count(c => c == '\n');
}
