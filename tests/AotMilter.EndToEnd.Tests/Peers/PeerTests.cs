using System.Diagnostics;
using System.Net.Sockets;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Peers;

/// <summary>
/// <c>aotmilter test</c> against the benchmark peers in ../shared/peers (libmilter in C, go-milter, Sendmail::PMilter,
/// pymilter): whatever language a milter is written in, the tool plays Postfix or Sendmail against it and prints what it
/// did. Every peer counts the headers, adds "X-Bench: &lt;count&gt;" and rejects reject@example.com. Skipped, with the
/// reason, when ../shared/peers is absent or a peer cannot run here (not built, a missing package).
/// </summary>
public sealed class PeerTests
{
    public static string PeersDirectory => Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "peers"));

    public static TheoryData<string, string> Peers()
    {
        var data = new TheoryData<string, string>();
        foreach (string peer in new[] { "c-libmilter", "go-milter", "perl-pmilter", "python-pymilter" })
        {
            foreach (string mta in new[] { "postfix", "sendmail" })
            {
                data.Add(peer, mta);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Peers))]
    public async Task TestToolShowsWhatThePeerDid(string peer, string mta)
    {
        string runScript = Path.Combine(PeersDirectory, peer, "run.sh");
        Skip.IfNot(File.Exists(runScript), $"{runScript} not found: the shared peers are not present");
        Skip.If(peer is "c-libmilter" or "go-milter" && !File.Exists(Path.Combine(PeersDirectory, peer, "bench-filter")),
            $"the {peer} peer is not built: run {Path.Combine(PeersDirectory, peer, "build.sh")}");

        using var directory = new TempDirectory("peer");
        string socket = directory.Combine("m.sock");
        using Process milter = Start(runScript, $"unix:{socket}");
        try
        {
            string? problem = await WaitForSocketAsync(milter, socket);
            Skip.If(problem is not null, $"the {peer} peer does not run here: {problem}");
            string message = Path.Combine(RepoPaths.Root, "tests", "AotMilter.EndToEnd.Tests", "Messages", "plain-text.eml");

            ProcessResult result = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(),
                ["test", "--socket", $"unix:{socket}", "--mta", mta, message, "--rcpt", "bob@example.net", "--rcpt", "reject@example.com"],
                TimeSpan.FromSeconds(60));

            Assert.True(result.Succeeded, result.ToString());
            string report = result.StdOut;
            Assert.Contains("add header X-Bench: 7", report);
            Assert.Contains("\nX-Bench: 7\n", report);
            Assert.Contains("outcome: delivered", report);
            Assert.Contains(mta == "sendmail"
                ? "RcptTo: 550 5.7.1 <reject@example.com>... Recipient rejected by bench filter"
                : "RcptTo: 550 5.7.1 Recipient rejected by bench filter", report);
            Assert.Contains("envelope: MAIL FROM:<sender@example.org> RCPT TO:<bob@example.net>\n", report);
        }
        finally
        {
            milter.Kill(entireProcessTree: true);
            await milter.WaitForExitAsync();
        }
    }

    private static Process Start(string runScript, string socket)
    {
        var start = new ProcessStartInfo(runScript)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(socket);
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Null once the socket accepts connections; otherwise why not (the peer exited, or never listened).</summary>
    private static async Task<string?> WaitForSocketAsync(Process milter, string path)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (milter.HasExited)
            {
                return $"it exited with {milter.ExitCode}";
            }

            if (File.Exists(path))
            {
                try
                {
                    using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await probe.ConnectAsync(new UnixDomainSocketEndPoint(path));
                    return null;
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
            }

            await Task.Delay(100);
        }

        return $"nothing listened on {path} within 15 s";
    }
}
