using System.Net.Http;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// <c>--metrics</c>: after a load run by <c>aotmilter bench</c>, the Prometheus endpoint's message and verdict counts
/// are what the load generator sent; SIGUSR1 logs the same totals in one line.
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task AfterALoadRunTheMetricsEndpointCountsExactlyTheMessagesAndVerdictsSent()
    {
        using var dir = new TempDirectory("metrics");
        string socket = dir.Combine("milter.sock");
        int port = Ports.GetFree();
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(socket), "--metrics", $"inet:{port}@127.0.0.1");

        ProcessResult accepted = await Bench(socket, "--connections", "4", "--messages", "1200", "--msgs-per-conn", "100", "--expect-header", "X-Bench");
        ProcessResult rejected = await Bench(socket, "--connections", "2", "--messages", "300", "--rcpt", "reject@example.com", "--expect-reject");
        Assert.True(accepted.Succeeded && rejected.Succeeded, $"{accepted}\n{rejected}\n{milter.Describe()}");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        Dictionary<string, double> samples = Parse(text);

        Assert.Equal(1500, samples["aotmilter_messages_total"]);
        Assert.Equal(1200, samples["aotmilter_verdicts_total{filter=\"bench\",event=\"eom\",verdict=\"accept\"}"]);
        Assert.Equal(300, samples["aotmilter_verdicts_total{filter=\"bench\",event=\"rcpt\",verdict=\"reject\"}"]);
        Assert.Equal(1200, samples["aotmilter_verdicts_total{filter=\"bench\",event=\"rcpt\",verdict=\"continue\"}"]);
        Assert.Equal(1200, samples["aotmilter_modifications_total"]);
        Assert.Equal(0, samples["aotmilter_filter_exceptions_total{filter=\"bench\"}"]);
        Assert.Equal(0, samples["aotmilter_protocol_errors_total"]);
        Assert.Equal(0, samples["aotmilter_connections_refused_total"]);
        Assert.Equal(1200, samples["aotmilter_callback_seconds_count{event=\"eom\"}"]);
        Assert.Contains("# TYPE aotmilter_verdicts_total counter", text);

        // Where the memory is: the budget's limit is --max-memory's default, nothing is reserved between messages,
        // and the resident size is the one /proc shows.
        Assert.Equal(512.0 * 1024 * 1024, samples["aotmilter_memory_limit_bytes"]);
        Assert.Equal(0, samples["aotmilter_memory_reserved_bytes"]);
        double vmRss = ProcFs.Resident(milter.ProcessId);
        Assert.InRange(samples["process_resident_memory_bytes"], vmRss * 0.8, vmRss * 1.2);

        using (var notFound = await http.GetAsync($"http://127.0.0.1:{port}/other"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, notFound.StatusCode);
        }

        Native.Signal(milter.ProcessId, 10 /* SIGUSR1 */);
        await WaitForAsync(() => milter.Output.Contains("statistics (SIGUSR1)", StringComparison.Ordinal), milter);
        string line = milter.Output.Split('\n').Last(l => l.Contains("statistics (SIGUSR1)", StringComparison.Ordinal));
        Assert.Contains("messages=1500", line);
        Assert.Contains("accept=1200", line);
        Assert.Contains("reject=300", line);

        // The load allocates next to nothing, so the daemon may not have collected yet. Two frames of 900 KiB make
        // it hold and give back 1.8 MiB, after which it compacts its heap: then the heap's figures are published,
        // the live bytes within what the GC committed.
        for (int i = 0; i < 2; i++)
        {
            await using MilterClient mta = await MilterClient.ConnectAsync($"unix:{socket}");
            await mta.NegotiateAsync();
            await mta.MailFromAsync("<a@example.org>");
            await mta.HeaderAsync("X-Large", new string('h', 900 * 1024));
            await mta.QuitAsync();
        }

        Dictionary<string, double> after = samples;
        for (int i = 0; i < 100 && !after.ContainsKey("aotmilter_gc_heap_live_bytes"); i++)
        {
            await Task.Delay(100);
            after = Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"));
        }

        Assert.True(after["aotmilter_gc_collections_total"] >= 1, "no collection 10 s after 1.8 MiB were given back");
        Assert.InRange(after["aotmilter_gc_heap_live_bytes"], 1, after["aotmilter_gc_committed_bytes"]);
        Assert.InRange(after["aotmilter_gc_heap_fragmented_bytes"], 0, after["aotmilter_gc_committed_bytes"]);
    }

    private static Dictionary<string, double> Parse(string text) => text.Split('\n')
        .Where(l => l.Length > 0 && l[0] != '#')
        .Select(l => l.Split(' '))
        .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));

    private static Task<ProcessResult> Bench(string socket, params string[] arguments) =>
        ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["bench", "--socket", $"unix:{socket}", .. arguments], TimeSpan.FromMinutes(2));

    private static async Task WaitForAsync(Func<bool> condition, MilterDaemon milter)
    {
        for (int i = 0; i < 200; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException(milter.Describe());
    }
}
