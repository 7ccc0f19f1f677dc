using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>The shipped systemd units, socket activation with the published binary, and readiness notification.</summary>
public class SystemdTests
{
    private static string Dist => Path.Combine(RepoPaths.Root, "dist");

    [Fact]
    public async Task TheShippedUnitsPassSystemdAnalyzeVerify()
    {
        using var dir = UnitsWithThisBinary();
        (int code, string output) = await RunAsync("systemd-analyze", "verify", "--man=no", dir.Combine("aotmilter.service"), dir.Combine("aotmilter.socket"));

        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task TheServiceIsHardenedToAnExposureOfAtMostTwo()
    {
        using var dir = UnitsWithThisBinary();
        (int code, string output) = await RunAsync("systemd-analyze", "security", "--offline=true", dir.Combine("aotmilter.service"));

        Match score = Regex.Match(output, @"Overall exposure level for aotmilter\.service: (\d+\.\d)");
        Assert.True(code == 0 && score.Success, output);
        double exposure = double.Parse(score.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(exposure <= 2.0, $"exposure {exposure} (0 = fully locked down, 10 = unprotected)\n{output}");
    }

    [Fact]
    public async Task UnderSocketActivationTheDaemonServesTheInheritedSocketAndSetsItsMode()
    {
        using var dir = new TempDirectory("aotmilter-activate");
        string socket = dir.Combine("activated.sock");
        var start = new ProcessStartInfo("systemd-socket-activate") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-l", socket, RepoPaths.AotMilterBinary(), "-f", "bench", "--socket-mode", "0604", "--allow-root" })
        {
            start.ArgumentList.Add(a);
        }

        using Process activator = Process.Start(start)!;
        try
        {
            await WaitForAsync(() => File.Exists(socket), "the activator's socket");

            // The first connection starts the daemon, which inherits the listening socket (no -p given).
            await using (MilterClient mta = await MilterClient.ConnectAsync($"unix:{socket}"))
            {
                await mta.NegotiateAsync();
                await mta.MailFromAsync("<a@example.org>");
                Assert.True((await mta.RcptToAsync("<reject@example.com>")).IsRejection);
                Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
                await mta.HeaderAsync("Subject", "activated");
                EndOfMessageResult end = await mta.EndOfMessageAsync();
                Assert.Equal([new Modification.AddHeader("X-Bench", "1")], end.Modifications);
                await mta.QuitAsync();
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead, File.GetUnixFileMode(socket));
        }
        finally
        {
            Native.Signal(activator.Id, Native.SIGTERM);
            await activator.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
    }

    [Fact]
    public async Task TheDaemonTellsTheServiceManagerWhenItIsReadyAndWhenItStops()
    {
        using var dir = new TempDirectory("aotmilter-notify");
        string notifyPath = dir.Combine("notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var start = new ProcessStartInfo(RepoPaths.AotMilterBinary()) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-p", $"unix:{dir.Combine("m.sock")}", "-f", "log", "--allow-root" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["NOTIFY_SOCKET"] = notifyPath;
        using Process daemon = Process.Start(start)!;
        try
        {
            string ready = await ReceiveAsync(notify);
            Assert.Contains("READY=1", ready);
            Assert.Contains($"MAINPID={daemon.Id}", ready);
            Assert.True(File.Exists(dir.Combine("m.sock")), "ready means listening");

            Native.Signal(daemon.Id, Native.SIGTERM);
            Assert.Contains("STOPPING=1", await ReceiveAsync(notify));
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(0, daemon.ExitCode);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }
        }
    }

    private static TempDirectory UnitsWithThisBinary()
    {
        var dir = new TempDirectory("aotmilter-units");
        File.WriteAllText(dir.Combine("aotmilter.service"),
            File.ReadAllText(Path.Combine(Dist, "aotmilter.service")).Replace("/usr/local/sbin/aotmilter", RepoPaths.AotMilterBinary(), StringComparison.Ordinal));
        File.Copy(Path.Combine(Dist, "aotmilter.socket"), dir.Combine("aotmilter.socket"));
        return dir;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (int i = 0; i < 300; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"waited in vain for {what}");
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout + await stderr);
    }
}
