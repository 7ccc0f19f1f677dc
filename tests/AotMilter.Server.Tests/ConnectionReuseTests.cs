using System.Collections.Concurrent;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>
/// The daemon reuses a closed connection's session, context and buffers for a later connection: nothing of the
/// earlier connection may be seen by the later one.
/// </summary>
public class ConnectionReuseTests
{
    // A group's threads live as long as the process: one for this class, made when first needed.
    private static readonly Lazy<EventLoopGroup> BlockedLoop = new(() => new EventLoopGroup(1));

    [Fact]
    public async Task PooledConnectionsNotNeededForAWholeIntervalAreLetGo()
    {
        // A burst of 40 connections leaves 40 in the pool; with one connection at a time afterwards, 39 of them are
        // never needed through an interval, and all but the spares are let go at its end.
        await using TestServer server = TestServer.Start(o => o with { PoolTrimInterval = TimeSpan.FromMilliseconds(500) }, new Probe().Register());
        var burst = new List<MilterClient>();
        for (int i = 0; i < 40; i++)
        {
            burst.Add(await server.ConnectAndNegotiateAsync());
        }

        foreach (MilterClient mta in burst)
        {
            await mta.QuitAsync();
            await mta.DisposeAsync();
        }

        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (server.Server.PooledConnections < 40)
        {
            // A connection is counted closed just before it goes back to the pool.
            await Task.Delay(10, deadline.Token);
        }

        while (server.Server.PooledConnections > ConnectionPool.Spares + 2)
        {
            await using MilterClient one = await server.ConnectAndNegotiateAsync();
            Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(one, MilterEvent.Helo));
            await one.QuitAsync();
            await Task.Delay(100, deadline.Token);
        }

        Assert.InRange(server.Server.PooledConnections, ConnectionPool.Spares, ConnectionPool.Spares + 2);
    }

    [Fact]
    public async Task AReusedConnectionStartsWithNoMacrosNoPendingReplyAndItsOwnIdentity()
    {
        var seen = new ConcurrentQueue<string>();
        var macros = new ConcurrentQueue<string>();
        var probe = new Probe
        {
            Decide = (e, argument, context) =>
            {
                if (e == MilterEvent.Helo && argument == "leaves.example.org")
                {
                    // Set and never used: it must not reach the next connection's reject.
                    context.SetReply(SmtpReply.Create(550, "5.7.0", "stale reply of an earlier connection"));
                }

                if (e == MilterEvent.Connect)
                {
                    seen.Enqueue($"conn={context.ConnectionId} reply={context.PendingReply?.ToString() ?? "-"} v={context.ProtocolVersion}");
                }

                if (e is MilterEvent.Connect or MilterEvent.Helo)
                {
                    macros.Enqueue($"conn={context.ConnectionId} {e} i={context.GetMacroString("i") ?? "-"} j={context.GetMacroString("j") ?? "-"} auth={context.GetMacroString("{auth_authen}") ?? "-"}");
                }

                return e == MilterEvent.RcptTo ? Verdict.Reject : Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register());

        // Sequential connections: each I/O thread gets closed connections back and reuses them.
        const int Connections = 8;
        for (int i = 1; i <= Connections; i++)
        {
            await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
            {
                if (i == 1)
                {
                    await mta.MacroAsync('C', ("j", "first.example.org"));
                }

                await mta.ConnectAsync($"client{i}.example.org", ConnectFamily.IPv4, 25, $"192.0.2.{i}");
                await mta.HeloAsync(i % 2 == 1 ? "leaves.example.org" : "checks.example.org");
                if (i % 2 == 1)
                {
                    await mta.MacroAsync('M', ("i", $"QUEUE{i}"), ("{auth_authen}", "alice"));
                    await mta.MailFromAsync("<a@example.org>");
                    await mta.QuitAsync();
                    Assert.True(await mta.WaitForCloseAsync());
                }
                else
                {
                    await mta.MailFromAsync("<b@example.org>");
                    MilterReply rejected = await mta.RcptToAsync("<c@example.org>");
                    Assert.Equal(MilterReply.Reject, rejected);
                    await mta.QuitAsync();
                    Assert.True(await mta.WaitForCloseAsync());
                }
            }

            await server.WaitForNoConnectionsAsync();
        }

        Assert.True(server.Server.ConnectionsReused >= Connections - EventLoopGroup.Shared.ThreadCount,
            $"only {server.Server.ConnectionsReused} of {Connections} connections were reused");
        Assert.Equal(Enumerable.Range(1, Connections).Select(i => $"conn={i} reply=- v=6"), seen);

        // Macros of an earlier connection (j at connect, i and auth at MAIL) are never visible to a later one.
        string[] expected = Enumerable.Range(1, Connections).SelectMany(i => new[]
        {
            $"conn={i} Connect i=- j={(i == 1 ? "first.example.org" : "-")} auth=-",
            $"conn={i} Helo i=- j={(i == 1 ? "first.example.org" : "-")} auth=-",
        }).ToArray();
        Assert.Equal(expected, macros);
    }

    [Fact]
    public async Task ASynchronousCallbackThatBlocksItsIOThreadIsReportedAndTheConnectionStillGetsItsReply()
    {
        var probe = new Probe
        {
            Decide = (e, _, _) =>
            {
                if (e == MilterEvent.Helo)
                {
                    Thread.Sleep(1200);
                }

                return Verdict.Continue;
            },
        };
        // On an I/O thread of its own: held for 1.2 s, a thread of the shared group would hold up the other tests'
        // connections on it (an end of message waiting for its progress frames, say).
        await using TestServer server = TestServer.Start(o => o with { EventLoops = BlockedLoop.Value }, probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 25, "192.0.2.1");

        Assert.Equal(MilterReply.Continue, await mta.HeloAsync("slow.example.org"));

        LogCollector.Entry warning = await server.Logs.WaitForAsync("held I/O thread");
        Assert.Contains("synchronous callbacks of probe for command 'H'", warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFilterThatResetsServesTheNextConnectionsAndOneThatDoesNotIsNewEachTime()
    {
        int resettableMade = 0, resets = 0, plainMade = 0;
        var resettable = new MilterRegistration("resettable", null, "R", ProtocolFlags.None, ActionFlags.None,
            () => new CountingFilter(() => Interlocked.Increment(ref resettableMade), () => { Interlocked.Increment(ref resets); return true; }));
        var plain = new MilterRegistration("plain", null, "P", ProtocolFlags.None, ActionFlags.None,
            () => new CountingFilter(() => Interlocked.Increment(ref plainMade), null));
        await using TestServer server = TestServer.Start(resettable, plain);

        const int Connections = 12;
        for (int i = 0; i < Connections; i++)
        {
            await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
            {
                await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");
                await mta.QuitAsync();
                Assert.True(await mta.WaitForCloseAsync());
            }

            await server.WaitForNoConnectionsAsync();
        }

        // One instance per pooled connection, made by its first session and reset for each later one; the plain one is
        // new every time.
        Assert.Equal(Connections, plainMade);
        Assert.InRange(resettableMade, 1, server.Server.Metrics.ConnectionObjects);
        Assert.True(resettableMade < Connections, $"{resettableMade} instances for {Connections} connections: none was reused");
        Assert.Equal(Connections - resettableMade, resets);
    }

    [Fact]
    public async Task APoolFoundEmptyMakesSparesAheadAndEveryPooledConnectionServesInTurn()
    {
        int made = 0;
        var counted = new MilterRegistration("counted", null, "C", ProtocolFlags.None, ActionFlags.None,
            () => new CountingFilter(() => Interlocked.Increment(ref made), () => true));
        await using TestServer server = TestServer.Start(counted);
        MilterMetrics metrics = server.Server.Metrics;

        // The first connection finds the pool empty: it is made, and the spares with it.
        var open = new List<MilterClient> { await server.ConnectAndNegotiateAsync() };
        Assert.Equal(1 + ConnectionPool.AheadOfPeak, metrics.ConnectionObjects);
        Assert.Equal(ConnectionPool.AheadOfPeak, server.Server.PooledConnections);

        // As many more at once are served by the spares; one beyond them finds the pool empty again.
        for (int i = 0; i < ConnectionPool.AheadOfPeak; i++)
        {
            open.Add(await server.ConnectAndNegotiateAsync());
        }

        Assert.Equal(1 + ConnectionPool.AheadOfPeak, metrics.ConnectionObjects);
        open.Add(await server.ConnectAndNegotiateAsync());
        Assert.Equal(2 * (1 + ConnectionPool.AheadOfPeak), metrics.ConnectionObjects);
        foreach (MilterClient mta in open)
        {
            await mta.QuitAsync();
            await mta.DisposeAsync();
        }

        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        long objects = metrics.ConnectionObjects;
        while (server.Server.PooledConnections < objects)
        {
            await Task.Delay(10, deadline.Token);
        }

        // One connection at a time: the pool hands out the one that waited longest, so every pooled connection serves
        // in turn and each made its filters once (a spare that served only at the next peak would make them then,
        // allocating in the middle of a steady load).
        for (int i = 0; i < objects; i++)
        {
            await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
            {
                await Transcript.MessageAsync(mta, "<a@example.org>", "<b@example.org>");
                await mta.QuitAsync();
                Assert.True(await mta.WaitForCloseAsync());
            }

            while (server.Server.PooledConnections < objects)
            {
                await Task.Delay(10, deadline.Token);
            }
        }

        Assert.Equal(objects, metrics.ConnectionObjects);
        Assert.Equal(objects, made);
    }

    private sealed class CountingFilter : FilterDispatcher
    {
        private readonly Func<bool>? _reset;

        public CountingFilter(Action made, Func<bool>? reset)
        {
            made();
            _reset = reset;
        }

        public override bool TryReset() => _reset?.Invoke() ?? false;
    }
}
