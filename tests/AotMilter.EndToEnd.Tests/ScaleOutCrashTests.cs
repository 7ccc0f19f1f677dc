using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// One of three daemons behind HAProxy SIGKILLed while real Postfix (milter_default_action = tempfail) sends through
/// them with retrying clients, and not restarted: the sessions it held are tempfailed and retried, HAProxy sends new
/// ones to the two left, and every message is delivered exactly once, each filtered (the bench filter's X-Bench).
/// </summary>
public sealed class ScaleOutCrashTests(ScaleOutPostfixFixture fixture, ITestOutputHelper output) : IClassFixture<ScaleOutPostfixFixture>
{
    private const int MessageCount = 150;
    private const int Sessions = 6;
    private const int Victim = 1;

    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(90);

    [Fact]
    public Task SIGKILLOfOneDaemonBehindHAProxyLosesNothingAndLetsNothingThroughUnfiltered() => fixture.VerifyAsync(async () =>
    {
        var messages = Enumerable.Range(1, MessageCount).Select(i => TestMessage.Create(subject: $"scale-out crash {i}")).ToList();
        var load = new RetryingSmtpLoad(fixture.Postfix.SmtpPort, Sessions);
        using var stop = new CancellationTokenSource(LoadDeadline);
        var run = load.RunAsync(messages, stop.Token);
        TimeSpan killedAt;
        try
        {
            while (load.AcceptedCount < MessageCount / 3 && !run.IsCompleted)
            {
                await Task.Delay(10);
            }

            Assert.False(run.IsCompleted, $"the load ended before the kill: {load.Summary}");
            long open = await OpenConnectionsAsync(fixture.Pool.MetricsPorts[Victim]);
            Assert.True(open > 0, "the daemon to kill serves no Postfix session: its death would prove nothing");
            killedAt = load.Elapsed;
            Assert.Equal(128 + Native.SIGKILL, await fixture.Pool.KillAsync(Victim));
        }
        finally
        {
            await run;
        }

        int retriedAfter = load.Attempts.Count(a => a.At >= killedAt && a.Outcome is RetryingSmtpLoad.Outcome.TransientFailure or RetryingSmtpLoad.Outcome.ConnectionLost);
        string report = $"{MessageCount} messages over {Sessions} sessions in {load.Elapsed.TotalSeconds:0.0}s, daemon {Victim} killed at "
            + $"{killedAt.TotalSeconds:0.0}s: {load.Summary}; {retriedAfter} attempts retried after the kill; "
            + $"Redis ran {await fixture.Pool.Redis.CommandCallsAsync("evalsha")} EVALSHA";
        output.WriteLine(report);
        Assert.True(load.Count(RetryingSmtpLoad.Outcome.PermanentFailure) == 0, $"5xx replies: {report}\n{load.Describe()}");
        Assert.True(retriedAfter > 0, $"no session noticed the kill: {report}");
        Assert.True(load.AcceptedCount == MessageCount, $"not every message was accepted before the deadline: {report}\n{load.Describe()}");
        output.WriteLine(await DeliveryAudit.AssertDeliveredOnceAndFilteredAsync(fixture.Postfix, messages, report));
        Assert.True(await fixture.Pool.Redis.CommandCallsAsync("evalsha") >= MessageCount, $"the rate limiter did not count in Redis: {report}");
    });

    /// <summary>The daemon's <c>aotmilter_connections_open</c>, from its metrics endpoint.</summary>
    private static async Task<long> OpenConnectionsAsync(int metricsPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        string line = metrics.Split('\n').Single(l => l.StartsWith("aotmilter_connections_open ", StringComparison.Ordinal));
        return long.Parse(line["aotmilter_connections_open ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
