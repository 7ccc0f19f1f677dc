using System.Buffers.Binary;
using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Xunit.Abstractions;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The published binary against peers that try to make it hold memory: a chain fed huge headers, hundreds of
/// connections each parking half a large frame, macro frames of a megabyte, thousands of connections at once.
/// Memory is read from /proc/PID/status while it happens and after the peers are gone.
/// </summary>
public class HostilePeerMemoryTests(ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;

    // What the runtime, the GC's own bookkeeping and the kernel's accounting add around the bounded buffers.
    private const long SlackKiB = 40 * 1024;

    // How close to its size before the attack a daemon must come back once the peers are gone.
    private const long ReturnedKiB = 16 * 1024;

    [Fact]
    public async Task AChainFedHugeHeadersHoldsAtMostItsMessageBoundAndGivesItBack()
    {
        using var dir = new TempDirectory("hostile-headers");
        const int chainLimit = 16 * MiB;
        await using MilterDaemon daemon = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(dir.Combine("m.sock")),
            "-f", "log", "--log-level", "Warning", "--max-chain-message-size", chainLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ProcessMemory before = await WarmUpAsync(daemon);

        await using (MilterClient mta = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter))
        {
            await mta.NegotiateAsync();
            await mta.MailFromAsync("<a@example.org>");
            await mta.RcptToAsync("<b@example.org>");
            await mta.DataAsync();
            string value = new('h', MiB - 64);
            for (int i = 0; i < 100; i++)
            {
                await mta.HeaderAsync("X-Flood", value);
            }

            EndOfMessageResult result = await mta.EndOfMessageAsync();
            ProcessMemory during = ProcessMemory.Of(daemon.ProcessId);
            output.WriteLine($"before {before}; after 100 MiB of headers {during}");

            // Before the bound, 300 such headers took the daemon to 1.19 GB, and it kept them.
            Assert.Equal(MilterReplyKind.TempFail, result.Reply.Kind);
            Assert.True(during.PeakRssKiB < before.RssKiB + (2L * chainLimit / 1024) + (2L * MiB / 1024) + SlackKiB,
                $"peak while flooded: {during}; before: {before}");
            await mta.QuitAsync();
        }

        ProcessMemory after = await ProcessMemory.WaitForRssAtMostAsync(daemon.ProcessId, before.RssKiB + ReturnedKiB, TimeSpan.FromSeconds(10));
        output.WriteLine($"after the connection closed: {after}");
        Assert.True(after.RssKiB <= before.RssKiB + ReturnedKiB, $"after: {after}; before: {before}");
        Assert.Contains("message exceeds 16777216 bytes (headers and body)", daemon.Output);
        Assert.False(daemon.HasExited, daemon.Describe());
    }

    [Fact]
    public async Task HundredsOfConnectionsParkingHalfAFrameAreBoundedByTheBudgetAndLeaveNothingBehind()
    {
        using var dir = new TempDirectory("hostile-frames");
        const long budget = 64L * MiB;
        await using MilterDaemon daemon = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(dir.Combine("m.sock")),
            "--log-level", "Warning", "--max-memory", budget.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ProcessMemory before = await WarmUpAsync(daemon);

        var peers = new List<MilterClient>();
        int refused = 0;
        try
        {
            byte[] half = HalfFrame('L', MiB, MiB / 2);
            for (int i = 0; i < 300; i++)
            {
                MilterClient peer = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
                peers.Add(peer);
                try
                {
                    await peer.NegotiateAsync();
                    await peer.MailFromAsync("<a@example.org>");
                    await peer.SendBytesAsync(half);
                }
                catch (Exception ex) when (ex is IOException or MilterProtocolException)
                {
                    // Refused: the budget had no room for its frame, or for one more connection.
                    refused++;
                }
            }

            await Task.Delay(500);
            ProcessMemory during = ProcessMemory.Of(daemon.ProcessId);
            output.WriteLine($"before {before}; 300 peers with half a 1 MiB frame each ({refused} refused while sending): {during}");

            // Before the budget: 9 MB -> 322 MB, and none of it given back after the peers left.
            Assert.True(during.PeakRssKiB < before.RssKiB + (budget / 1024) + SlackKiB, $"peak: {during}; before: {before}");
            Assert.True(refused > 0 || daemon.Output.Contains("memory budget", StringComparison.Ordinal), "the budget never refused anything");
        }
        finally
        {
            foreach (MilterClient peer in peers)
            {
                await peer.DisposeAsync();
            }
        }

        ProcessMemory after = await ProcessMemory.WaitForRssAtMostAsync(daemon.ProcessId, before.RssKiB + ReturnedKiB, TimeSpan.FromSeconds(10));
        output.WriteLine($"after they hung up: {after}");
        Assert.True(after.RssKiB <= before.RssKiB + ReturnedKiB, $"after: {after}; before: {before}");

        // And the daemon still serves.
        await using MilterClient mta = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
        await mta.NegotiateAsync();
        AssertDelivered(await Transcript(mta));
    }

    [Fact]
    public async Task MegabyteMacroFramesCloseTheConnectionAndLeaveNothingBehind()
    {
        using var dir = new TempDirectory("hostile-macros");
        await using MilterDaemon daemon = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(dir.Combine("m.sock")), "--log-level", "Warning");
        ProcessMemory before = await WarmUpAsync(daemon);

        for (int round = 0; round < 7; round++)
        {
            await using MilterClient peer = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
            await peer.NegotiateAsync();
            try
            {
                await peer.MacroAsync("CHMRTNE"[round], ("{big}", new string('m', MiB - 64)));
            }
            catch (IOException)
            {
                // Closed while the frame was still being written.
            }

            Assert.True(await peer.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }

        ProcessMemory after = await ProcessMemory.WaitForRssAtMostAsync(daemon.ProcessId, before.RssKiB + ReturnedKiB, TimeSpan.FromSeconds(10));
        output.WriteLine($"before {before}; after seven 1 MiB macro frames {after}");
        Assert.True(after.RssKiB <= before.RssKiB + ReturnedKiB, $"after: {after}; before: {before}");
        Assert.Contains(nameof(MilterProtocolError.MacrosTooLarge), daemon.Output);
    }

    [Fact]
    public async Task FiveThousandConcurrentConnectionsAreHeldAndANormalMessageIsStillServed()
    {
        using var dir = new TempDirectory("hostile-many");
        await using MilterDaemon daemon = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(dir.Combine("m.sock")), "--log-level", "Warning", "--max-connections", "6000");
        ProcessMemory before = ProcessMemory.Of(daemon.ProcessId);

        const int count = 5000;
        var held = new MilterClient[count];
        try
        {
            // Opened in batches: the listen backlog is not the thing under test.
            for (int start = 0; start < count; start += 250)
            {
                await Task.WhenAll(Enumerable.Range(start, 250).Select(async i =>
                {
                    held[i] = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
                    await held[i].NegotiateAsync();
                    await held[i].MailFromAsync($"<s{i}@example.org>");
                }));
            }

            ProcessMemory during = ProcessMemory.Of(daemon.ProcessId);
            output.WriteLine($"before {before}; with {count} connections {during}");
            Assert.True(during.Descriptors >= count, $"{during}");

            await using MilterClient mta = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
            await mta.NegotiateAsync();
            AssertDelivered(await Transcript(mta));

            // The held ones are alive too: each still answers its next command.
            Assert.Equal(MilterReply.Continue, await held[0].RcptToAsync("<r@example.net>"));
            Assert.Equal(MilterReply.Continue, await held[count - 1].RcptToAsync("<r@example.net>"));
            Assert.Equal(MilterReplyKind.ReplyCode, (await held[count / 2].RcptToAsync("<reject@example.com>")).Kind);
        }
        finally
        {
            foreach (MilterClient? client in held)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }

        Assert.False(daemon.HasExited, daemon.Describe());
    }

    /// <summary>One ordinary message, so the daemon's steady-state size is the baseline.</summary>
    private static async Task<ProcessMemory> WarmUpAsync(MilterDaemon daemon)
    {
        await using (MilterClient mta = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter))
        {
            await mta.NegotiateAsync();
            await Transcript(mta);
            await mta.QuitAsync();
        }

        await Task.Delay(300);
        return ProcessMemory.Of(daemon.ProcessId);
    }

    /// <summary>An ordinary message; events the filter declined are not sent. Returns the end-of-message verdict.</summary>
    private static async Task<MilterReply> Transcript(MilterClient mta)
    {
        ProtocolFlags declined = mta.Negotiated!.DeclinedEvents;
        if ((declined & ProtocolFlags.NoConnect) == 0)
        {
            await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 50000, "192.0.2.10");
        }

        if ((declined & ProtocolFlags.NoHelo) == 0)
        {
            await mta.HeloAsync("client.example.org");
        }

        await mta.MailFromAsync("<sender@example.org>");
        await mta.RcptToAsync("<rcpt@example.net>");
        if ((declined & ProtocolFlags.NoData) == 0)
        {
            await mta.DataAsync();
        }

        await mta.HeaderAsync("Subject", "normal");
        if ((declined & ProtocolFlags.NoEndOfHeaders) == 0)
        {
            await mta.EndOfHeadersAsync();
        }

        if ((declined & ProtocolFlags.NoBody) == 0)
        {
            await mta.BodyAsync("Hello.\r\n");
        }

        return (await mta.EndOfMessageAsync()).Reply;
    }

    private static void AssertDelivered(MilterReply reply) =>
        Assert.True(reply.Kind is MilterReplyKind.Accept or MilterReplyKind.Continue, $"end of message answered {reply}");

    /// <summary>A frame of <paramref name="command"/> announcing <paramref name="payload"/> bytes, only <paramref name="sent"/> of them sent.</summary>
    private static byte[] HalfFrame(char command, int payload, int sent)
    {
        byte[] bytes = new byte[5 + sent];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)payload + 1);
        bytes[4] = (byte)command;
        Encoding.ASCII.GetBytes("X-Half").CopyTo(bytes, 5);
        bytes.AsSpan(5 + 7).Fill((byte)'x');
        return bytes;
    }
}
