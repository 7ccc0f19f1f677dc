using System.Net.Sockets;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;
using Xunit.Abstractions;
using Outcome = AotMilter.EndToEnd.Tests.Harness.RetryingSmtpLoad.Outcome;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The daemon SIGKILLed while real Postfix (milter_default_action = tempfail) is busy with concurrent retrying
/// clients, then restarted on the same, now stale, socket: every message must end up delivered exactly once and
/// filtered. The bench filter adds X-Bench to every message it accepts, so one delivered without the filter shows.
/// </summary>
public sealed class CrashUnderLoadTests(PostfixCrashFixture fixture, ITestOutputHelper output) : IClassFixture<PostfixCrashFixture>
{
    private const int MessageCount = 200;
    private const int Sessions = 6;

    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(90);

    /// <summary>When to kill (share of the messages accepted so far) and how long the daemon stays down.</summary>
    private static readonly (double AfterAccepted, TimeSpan Down)[] Crashes =
    [
        // Long enough for the clients to retry into a dead milter: Postfix must tempfail new sessions too.
        (1.0 / 3, TimeSpan.FromSeconds(1)),
        // systemd's default RestartSec: the new daemon starts while Postfix still holds the dead connections.
        (2.0 / 3, TimeSpan.FromMilliseconds(100)),
    ];

    [Fact]
    public Task SIGKILLUnderLoadLosesNothingDuplicatesNothingAndLetsNothingThroughUnfiltered() => fixture.VerifyAsync(async () =>
    {
        var messages = Enumerable.Range(1, MessageCount).Select(i => TestMessage.Create(subject: $"crash under load {i}")).ToList();
        var load = new RetryingSmtpLoad(fixture.Postfix.SmtpPort, Sessions);

        var kills = await RunWithCrashesAsync(load, messages);

        var report = Report(load, kills, out var tempfails);
        output.WriteLine(report);
        Assert.True(load.Count(Outcome.PermanentFailure) == 0, $"5xx replies: {report}\n{load.Describe()}");
        Assert.True(load.AcceptedCount == MessageCount, $"not every message was accepted before the deadline: {report}\n{load.Describe()}");
        Assert.True(tempfails[0] == 0, $"4xx before any crash (the daemon must not refuse under plain load): {report}\n{load.Describe()}");
        Assert.True(tempfails.Skip(1).All(n => n > 0), $"a crash went unnoticed by the clients (not under load?): {report}");

        output.WriteLine(await DeliveryAudit.AssertDeliveredOnceAndFilteredAsync(fixture.Postfix, messages, report));
    });

    /// <summary>Runs the load, killing and restarting the daemon as <see cref="Crashes"/> says; returns when each kill happened.</summary>
    private async Task<List<TimeSpan>> RunWithCrashesAsync(RetryingSmtpLoad load, List<TestMessage> messages)
    {
        using var stop = new CancellationTokenSource(LoadDeadline);
        var run = load.RunAsync(messages, stop.Token);
        var kills = new List<TimeSpan>();
        try
        {
            foreach (var (afterAccepted, down) in Crashes)
            {
                while (load.AcceptedCount < messages.Count * afterAccepted && !run.IsCompleted)
                {
                    await Task.Delay(10);
                }

                Assert.False(run.IsCompleted, $"the load ended before crash {kills.Count + 1}: {load.Summary}");
                kills.Add(load.Elapsed);
                Assert.Equal(128 + Native.SIGKILL, await fixture.KillMilterAsync());
                await Task.Delay(down);
                AssertStale(fixture.MilterSocket.Path);
                await fixture.RestartMilterAsync();
            }
        }
        catch
        {
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            await run;
        }

        return kills;
    }

    /// <summary>
    /// The socket file a SIGKILLed daemon leaves behind, refusing connections: what the next daemon must replace. If it
    /// were gone, the restart would prove nothing about stale sockets.
    /// </summary>
    private static void AssertStale(string path)
    {
        Assert.True(File.Exists(path), $"{path} disappeared after SIGKILL");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var refused = Assert.Throws<SocketException>(() => probe.Connect(new UnixDomainSocketEndPoint(path)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    /// <summary>The counts for assertion messages; <paramref name="tempfails"/>: 4xx before the first crash ([0]) and after crash i ([i]).</summary>
    private static string Report(RetryingSmtpLoad load, List<TimeSpan> kills, out int[] tempfails)
    {
        var windows = new int[kills.Count + 1];
        foreach (var attempt in load.Attempts.Where(a => a.Outcome == Outcome.TransientFailure))
        {
            windows[kills.Count(k => k <= attempt.At)]++;
        }

        tempfails = windows;
        var failures = load.Attempts.Where(a => a.Outcome != Outcome.Accepted)
            .GroupBy(a => $"{a.Outcome} at {a.Stage}").Select(g => $"{g.Count()} {g.Key}");
        return $"{MessageCount} messages over {Sessions} sessions in {load.Elapsed.TotalSeconds:0.0}s: {load.Summary}; "
            + $"4xx before the first crash: {windows[0]}, "
            + string.Join(", ", kills.Select((at, i) => $"after crash {i + 1} at {at.TotalSeconds:0.0}s: {windows[i + 1]}"))
            + $"; retried: {string.Join(", ", failures)}";
    }
}
