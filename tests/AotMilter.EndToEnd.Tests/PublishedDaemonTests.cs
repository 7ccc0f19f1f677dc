using System.Diagnostics;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The published binary as an admin runs it: many MTA connections at once, signals, the socket file, detaching,
/// and bad arguments. The MTA side is the project's own client.
/// </summary>
public class PublishedDaemonTests
{
    [Fact]
    public async Task ManyConcurrentConnectionsEachGetEveryReplyRight()
    {
        using var dir = new TempDirectory("aotmilter-conc");
        await using MilterDaemon daemon = await MilterDaemon.StartAsync("bench", MilterEndpoint.Unix(dir.Combine("m.sock")));

        const int connections = 48;
        const int messagesPerConnection = 25;
        Task[] clients = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            await using MilterClient mta = await MilterClient.ConnectAsync(daemon.Endpoint.ForAotMilter);
            NegotiationResult negotiated = await mta.NegotiateAsync();
            Assert.Equal(6u, negotiated.Version);

            // Derived at compile time: bench has no connect, HELO, DATA, end-of-headers or body callback.
            Assert.Equal(ProtocolFlags.NoConnect | ProtocolFlags.NoHelo | ProtocolFlags.NoData | ProtocolFlags.NoEndOfHeaders | ProtocolFlags.NoBody | ProtocolFlags.NoUnknown, negotiated.DeclinedEvents);
            for (int m = 0; m < messagesPerConnection; m++)
            {
                int headers = 1 + ((c + m) % 7);
                // bench only observes MAIL FROM and headers: it negotiated not to be waited for there.
                Assert.Equal(MilterReplyKind.NoReply, (await mta.MailFromAsync($"<s{c}@example.org>")).Kind);
                if (m % 5 == 0)
                {
                    MilterReply rejected = await mta.RcptToAsync("<reject@example.com>");
                    Assert.Equal(MilterReplyKind.ReplyCode, rejected.Kind);
                    Assert.StartsWith("550 5.7.1", rejected.Text);
                }

                Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<r{m}@example.net>"));
                for (int h = 0; h < headers; h++)
                {
                    await mta.HeaderAsync($"X-H{h}", $"connection {c} message {m}");
                }

                EndOfMessageResult end = await mta.EndOfMessageAsync();
                Assert.Equal(MilterReply.Accept, end.Reply);
                Assert.Equal([new Modification.AddHeader("X-Bench", headers.ToString(System.Globalization.CultureInfo.InvariantCulture))], end.Modifications);
                await mta.AbortAsync();
            }

            await mta.QuitAsync();
        })).ToArray();

        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.False(daemon.HasExited, daemon.Describe());
    }

    [Fact]
    public async Task SigtermRemovesTheSocketAndExitsZero()
    {
        using var dir = new TempDirectory("aotmilter-term");
        string socket = dir.Combine("m.sock");
        using Process daemon = Start("-p", $"unix:{socket}", "-f", "log", "--allow-root");
        await WaitForSocketAsync(socket, daemon);

        Native.Signal(daemon.Id, Native.SIGTERM);
        await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, daemon.ExitCode);
        Assert.False(File.Exists(socket), "the unix socket is removed at exit");
    }

    [Fact]
    public async Task AStaleSocketIsReplacedButAnOrdinaryFileIsNeverDeleted()
    {
        using var dir = new TempDirectory("aotmilter-stale");
        string stale = dir.Combine("stale.sock");
        using (var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            s.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(stale));
        }

        using (Process daemon = Start("-p", $"unix:{stale}", "-f", "log", "--allow-root"))
        {
            await WaitForSocketAsync(stale, daemon);
            Native.Signal(daemon.Id, Native.SIGTERM);
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }

        string file = dir.Combine("precious.txt");
        await File.WriteAllTextAsync(file, "keep me");
        (int code, string output) = await RunAsync("-p", $"unix:{file}", "-f", "log", "--allow-root");

        Assert.NotEqual(0, code);
        Assert.Contains("is not a socket; refusing to delete it", output);
        Assert.Equal("keep me", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task DetachReturnsOnceListeningAndReportsTheChildsFailure()
    {
        using var dir = new TempDirectory("aotmilter-detach");
        string socket = dir.Combine("m.sock");
        string pidFile = dir.Combine("aotmilter.pid");

        (int code, string output) = await RunAsync("-D", "-p", $"unix:{socket}", "-f", "log", "--pid-file", pidFile, "--log-file", dir.Combine("log"), "--allow-root");
        Assert.Equal(0, code);
        Assert.True(File.Exists(socket), $"listening when -D returns; output: {output}");
        int pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            // The daemon leads its own session: it survives its parent and has no terminal.
            string stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[3]);

            (int second, string reason) = await RunAsync("-D", "-p", $"unix:{socket}", "-f", "log", "--allow-root");
            Assert.Equal(1, second);
            Assert.Contains("is in use", reason);
        }
        finally
        {
            Native.Signal(pid, Native.SIGTERM);
            for (int i = 0; i < 150 && Directory.Exists($"/proc/{pid}"); i++)
            {
                await Task.Delay(100);
            }
        }

        Assert.False(File.Exists(pidFile), "the pid file is removed at exit");
    }

    [Fact]
    public async Task StartedAsRootWithUserTheDaemonRunsAsThatUserAndStillServes()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var dir = new TempDirectory("aotmilter-user");

        // Like /tmp: the unprivileged daemon may remove the socket it was given, nothing else.
        File.SetUnixFileMode(dir.Path, (UnixFileMode)Convert.ToInt32("1777", 8));
        string socket = dir.Combine("m.sock");
        using Process daemon = Start("-p", $"unix:{socket}", "-f", "bench", "-u", "nobody", "--socket-mode", "0666");
        try
        {
            await WaitForSocketAsync(socket, daemon);
            await Task.Delay(200);
            string status = await File.ReadAllTextAsync($"/proc/{daemon.Id}/status");
            string uids = status.Split('\n').First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            string gids = status.Split('\n').First(l => l.StartsWith("Gid:", StringComparison.Ordinal));
            Assert.Equal(["65534", "65534", "65534", "65534"], uids.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..]);
            Assert.Equal(["65534", "65534", "65534", "65534"], gids.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..]);

            await using MilterClient mta = await MilterClient.ConnectAsync($"unix:{socket}");
            await mta.NegotiateAsync();
            await mta.MailFromAsync("<a@example.org>");
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
            Assert.Equal(MilterReply.Accept, (await mta.EndOfMessageAsync()).Reply);
        }
        finally
        {
            Native.Signal(daemon.Id, Native.SIGTERM);
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }

        Assert.Equal(0, daemon.ExitCode);
        Assert.False(File.Exists(socket), "the unprivileged daemon can still remove its socket: it was given to it");
    }

    [Fact]
    public async Task StartedAsRootWithoutUserTheDaemonRefusesToRun()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var dir = new TempDirectory("aotmilter-root");
        (int code, string output) = await RunAsync("-p", $"unix:{dir.Combine("m.sock")}", "-f", "log");

        Assert.NotEqual(0, code);
        Assert.Contains("refusing to run as root", output);
        Assert.False(File.Exists(dir.Combine("m.sock")));
    }

    [Theory]
    [InlineData("-p", "tcp:25")]
    [InlineData("-p", "inet:99999@127.0.0.1")]
    [InlineData("-f", "no-such-filter")]
    [InlineData("--socket-mode", "999")]
    [InlineData("--fallback", "maybe")]
    [InlineData("--busy-poll", "5000")]
    [InlineData("--busy-poll", "-1")]
    [InlineData("--no-such-option")]
    public async Task ABadArgumentSaysWhatIsWrongAndExitsNonZero(params string[] arguments)
    {
        (int code, string output) = await RunAsync(arguments);

        Assert.NotEqual(0, code);
        Assert.StartsWith("aotmilter: ", output);
        Assert.DoesNotContain("Options:", output);
    }

    [Fact]
    public async Task HelpAndVersionAndTheFilterListExitZero()
    {
        Assert.Equal(0, (await RunAsync("--help")).Code);
        (int code, string filters) = await RunAsync("--list-filters");
        Assert.Equal(0, code);
        Assert.Contains("bench", filters);
        Assert.Contains("log", filters);
    }

    [Fact]
    public async Task TheManPageDescribesEveryOptionOfHelp()
    {
        (int code, string help) = await RunAsync("--help");
        Assert.Equal(0, code);
        string manPage = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "dist", "aotmilter.8"));

        string[] options = System.Text.RegularExpressions.Regex.Matches(help, @"(?<=[\s,])--[a-z][a-z0-9-]*")
            .Select(m => m.Value).Distinct().ToArray();
        Assert.NotEmpty(options);
        foreach (string option in options)
        {
            Assert.True(manPage.Contains(option.Replace("-", "\\-", StringComparison.Ordinal), StringComparison.Ordinal), $"dist/aotmilter.8 does not describe {option}");
        }
    }

    private static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary()) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    private static async Task<(int Code, string Output)> RunAsync(params string[] arguments)
    {
        using Process p = Start(arguments);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (p.ExitCode, (await stderr) + (await stdout));
    }

    private static async Task WaitForSocketAsync(string path, Process daemon)
    {
        for (int i = 0; i < 200; i++)
        {
            if (File.Exists(path) && !daemon.HasExited)
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"no socket at {path}; exited: {daemon.HasExited}");
    }
}
