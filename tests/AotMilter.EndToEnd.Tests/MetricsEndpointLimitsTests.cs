using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// <c>--metrics</c> against clients that connect and say nothing: the published daemon serves at most 16 at once,
/// closes the others at once and each served one after 5 seconds (README, "--metrics"), so a flood of idle
/// connections costs it a bounded number of descriptors, while a real scrape still gets its answer.
/// </summary>
public sealed class MetricsEndpointLimitsTests
{
    private const int MaxClients = 16;
    private static readonly TimeSpan ClientDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task TwoHundredSilentClientsCostAtMostTheCapInDescriptorsAreClosedAtTheDeadlineAndAScrapeStillAnswers()
    {
        using var dir = new TempDirectory("metrics-flood");
        int port = Ports.GetFree();
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(dir.Combine("milter.sock")), "--metrics", $"inet:{port}@127.0.0.1");
        await WaitForScrapeAsync(port, TimeSpan.FromSeconds(5), milter);
        int before = ProcStat.OpenDescriptors(milter.ProcessId);

        var silent = new List<Socket>();
        try
        {
            var opened = Stopwatch.StartNew();
            for (int i = 0; i < 200; i++)
            {
                silent.Add(await ConnectAsync(port));
            }

            await Task.Delay(1000);
            int during = ProcStat.OpenDescriptors(milter.ProcessId);
            Assert.True(during <= before + MaxClients + 2, $"{during} descriptors open with 200 silent clients (before: {before})\n{milter.Describe()}");

            // Those beyond the cap were closed at once: the client sees the end of the stream.
            int stillOpen = silent.Count(s => !IsClosedByPeer(s));
            Assert.True(stillOpen <= MaxClients, $"{stillOpen} of 200 silent clients still open after 1 s\n{milter.Describe()}");

            // A scraper gets through meanwhile, or as soon as the deadline frees a slot.
            string text = await WaitForScrapeAsync(port, ClientDeadline + TimeSpan.FromSeconds(5), milter);
            Assert.Contains("aotmilter_connections_total", text);

            // By the deadline (and a margin for a loaded machine) every silent client has been closed by the daemon.
            await WaitUntilAsync(() => silent.All(IsClosedByPeer), ClientDeadline + TimeSpan.FromSeconds(3) - opened.Elapsed, milter,
                () => $"{silent.Count(s => !IsClosedByPeer(s))} silent clients still open {opened.Elapsed.TotalSeconds:0.0} s after they connected");
            await WaitUntilAsync(() => ProcStat.OpenDescriptors(milter.ProcessId) <= before + 1, TimeSpan.FromSeconds(2), milter,
                () => $"{ProcStat.OpenDescriptors(milter.ProcessId)} descriptors open after the silent clients were closed (before: {before})");
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }

        // Each refusal is not a log line of its own.
        int refusalLines = milter.Output.Split('\n').Count(l => l.Contains("requests already open", StringComparison.Ordinal));
        Assert.InRange(refusalLines, 1, 2);
    }

    [Fact]
    public async Task ARequestHeadLargerThan8KiBIsAnswered431AndClosed()
    {
        using var dir = new TempDirectory("metrics-big");
        int port = Ports.GetFree();
        await using var milter = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(dir.Combine("milter.sock")), "--metrics", $"inet:{port}@127.0.0.1");
        using Socket client = await ConnectAsync(port);

        byte[] head = System.Text.Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nX-Filler: " + new string('x', 20_000) + "\r\n\r\n");
        try
        {
            await client.SendAsync(head);
        }
        catch (SocketException)
        {
            // The daemon may answer and close before the client has sent everything.
        }

        string answer = await ReadToEndAsync(client);
        Assert.StartsWith("HTTP/1.1 431 ", answer);
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    /// <summary>True when the daemon closed the connection (readable with nothing to read: end of stream, or reset).</summary>
    private static bool IsClosedByPeer(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = new System.Text.StringBuilder();
        byte[] buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException) when (text.Length > 0)
        {
            // A reset after the answer (the rest of the request was never read) does not take the answer back.
        }

        return text.ToString();
    }

    internal static async Task<string> WaitForScrapeAsync(int port, TimeSpan within, MilterDaemon milter)
    {
        var until = Stopwatch.StartNew();
        Exception? last = null;
        while (until.Elapsed < within)
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                return await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no answer from GET /metrics within {within.TotalSeconds:0.0} s: {last?.Message}\n{milter.Describe()}");
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan within, MilterDaemon milter, Func<string> describe)
    {
        var until = Stopwatch.StartNew();
        while (!condition())
        {
            if (until.Elapsed > within)
            {
                throw new TimeoutException($"{describe()}\n{milter.Describe()}");
            }

            await Task.Delay(50);
        }
    }
}
