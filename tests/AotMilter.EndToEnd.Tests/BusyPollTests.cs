using System.Diagnostics;
using System.Globalization;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The published daemon's I/O thread with <c>--busy-poll</c>: under a stream of frames it looks for the next one
/// instead of sleeping, and an MTA that pauses between frames costs it no polling. How often the loop's thread slept
/// is its voluntary context switches (/proc/PID/task/TID/status: a thread that yields the core while it polls is
/// not counted there, one that sleeps in epoll_wait is). Alone, like the other measurements of how a loop waits:
/// the suite's other daemons would stretch the MTA's turn between frames past the budget.
/// </summary>
[Collection(LatencyCollection.Name)]
public class BusyPollTests(ITestOutputHelper output)
{
    /// <summary>The daemon's only event loop with --io-threads 1 (its thread's name).</summary>
    private const string LoopThread = "aotmilter-io-0";

    [Fact]
    public async Task UnderAStreamOfFramesTheLoopPollsInsteadOfSleeping()
    {
        using var dir = new TempDirectory("busy-poll-stream");
        await using MilterDaemon polling = await StartAsync(dir, "polling", 1000);
        await using MilterDaemon sleeping = await StartAsync(dir, "sleeping", 0);

        const int Frames = 2000;
        long pollingSlept = await SleepsDuringAsync(polling, () => SendHeadersAsync(polling, Frames, pause: TimeSpan.Zero));
        long sleepingSlept = await SleepsDuringAsync(sleeping, () => SendHeadersAsync(sleeping, Frames, pause: TimeSpan.Zero));

        output.WriteLine($"{Frames} header frames back to back: the loop slept {pollingSlept} times with --busy-poll 1000, {sleepingSlept} with 0");
        Assert.True(sleepingSlept >= Frames / 2, $"without polling the loop slept only {sleepingSlept} times for {Frames} frames: the measure does not see its waits");
        Assert.True(pollingSlept * 4 < sleepingSlept, $"with polling the loop slept {pollingSlept} times, without {sleepingSlept}");
    }

    [Fact]
    public async Task AnMtaThatPausesBetweenFramesCostsNoPolling()
    {
        using var dir = new TempDirectory("busy-poll-paced");
        await using MilterDaemon daemon = await StartAsync(dir, "paced", 1000);

        // Hot first (a stream of frames), then 150 frames 3 ms apart: a loop that kept polling for its whole budget
        // before each would spend about 150 ms; one that stops once the waits grow long spends its frames' own work.
        await SendHeadersAsync(daemon, 2000, pause: TimeSpan.Zero);
        TimeSpan before = ProcStat.CpuTime(daemon.ProcessId);
        await SendHeadersAsync(daemon, 150, pause: TimeSpan.FromMilliseconds(3));
        TimeSpan cpu = ProcStat.CpuTime(daemon.ProcessId) - before;

        output.WriteLine($"150 frames 3 ms apart: {cpu.TotalMilliseconds:0} ms of CPU");
        Assert.True(cpu < TimeSpan.FromMilliseconds(75), $"the daemon used {cpu.TotalMilliseconds:0} ms of CPU for 150 paced frames");
    }

    [Fact]
    public async Task WhileLogLinesWaitForTheWriterTheLoopSleepsInsteadOfPolling()
    {
        // Standard error redirected and never read: the writer thread blocks on the full pipe and the log queue keeps
        // lines waiting for it, as when the writer needs a core the polling loops would take.
        using var dir = new TempDirectory("busy-poll-log");
        string socket = dir.Combine("m.sock");
        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[] { "-p", $"unix:{socket}", "-f", "bench", "--always-reply", "--allow-root", "--io-threads", "1", "--busy-poll", "1000" })
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

            // A line per connection fills the pipe's buffer within the second.
            ProcessResult flood = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(),
                ["bench", "--socket", $"unix:{socket}", "--connections", "8", "--duration", "1"], TimeSpan.FromSeconds(60));
            Assert.True(flood.Succeeded, flood.ToString());

            const int Frames = 2000;
            long slept = await SleepsDuringAsync(daemon.Id, () => SendHeadersAsync($"unix:{socket}", Frames, pause: TimeSpan.Zero));
            output.WriteLine($"{Frames} header frames back to back with log lines waiting: the loop slept {slept} times with --busy-poll 1000");
            Assert.True(slept >= Frames / 2, $"the loop slept only {slept} times for {Frames} frames: it polled while the log writer's lines waited");
        }
        finally
        {
            daemon.Kill();
            await daemon.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task ADaemonThatMayUseOneCpuDoesNotPollUnlessTold()
    {
        // Polling on the only CPU the daemon may run on would take it from the MTA the loop waits for.
        ProcessResult one = await ProcessRunner.RunAsync("taskset", ["-c", "0", RepoPaths.AotMilterBinary(), "--help"], TimeSpan.FromSeconds(30));
        one.EnsureSuccess("taskset -c 0 aotmilter --help");
        Assert.Matches(@"--busy-poll <MICROSECONDS>[^\[]*\[default: 0\]", one.StdOut);

        ProcessResult all = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["--help"], TimeSpan.FromSeconds(30));
        all.EnsureSuccess("aotmilter --help");
        Assert.Matches(Environment.ProcessorCount > 1 ? @"--busy-poll <MICROSECONDS>[^\[]*\[default: 50\]" : @"--busy-poll <MICROSECONDS>[^\[]*\[default: 0\]", all.StdOut);
    }

    private static Task<MilterDaemon> StartAsync(TempDirectory dir, string name, int busyPoll) =>
        MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(dir.Combine($"{name}.sock")), "--always-reply", "--io-threads", "1",
            "--busy-poll", busyPoll.ToString(CultureInfo.InvariantCulture), "--log-level", "Warning");

    private static Task SendHeadersAsync(MilterDaemon daemon, int count, TimeSpan pause) => SendHeadersAsync(daemon.Endpoint.ForAotMilter, count, pause);

    private static async Task SendHeadersAsync(string socket, int count, TimeSpan pause)
    {
        await using MilterClient mta = await MilterClient.ConnectAsync(socket);
        await mta.NegotiateAsync();
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Frame", i.ToString(CultureInfo.InvariantCulture)));
            if (pause > TimeSpan.Zero)
            {
                Thread.Sleep(pause);
            }
        }

        await mta.QuitAsync();
    }

    private static Task<long> SleepsDuringAsync(MilterDaemon daemon, Func<Task> load) => SleepsDuringAsync(daemon.ProcessId, load);

    private static async Task<long> SleepsDuringAsync(int pid, Func<Task> load)
    {
        long before = ProcFs.ThreadSleeps(pid, LoopThread);
        await load();
        return ProcFs.ThreadSleeps(pid, LoopThread) - before;
    }
}
