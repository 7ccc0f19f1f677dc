using System.Text.RegularExpressions;
using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The published daemon with the <c>log</c> filter, logging to a file, and an MTA connection whose every value was
/// chosen by an attacker: CR LF followed by a fake log line in the client name, HELO, addresses, ESMTP arguments,
/// macro values, header values and an unknown command, and a header of a megabyte. The file must keep one line per
/// event, each bounded (README: values are shown escaped, at most 256 bytes of each).
/// </summary>
public sealed partial class PeerTextInLogTests
{
    private const string Forged = "\r\n1999-01-01 00:00:00.000 INF forged";

    [Fact]
    public async Task ValuesWithCRLFAndAOneMiBHeaderGiveBoundedLinesWithoutRawCROrLF()
    {
        using var dir = new TempDirectory("peer-log");
        string socket = dir.Combine("milter.sock");
        string logFile = dir.Combine("aotmilter.log");
        var milter = await MilterDaemon.StartAsync("log", MilterEndpoint.Unix(socket), "--log-file", logFile, "--max-packet-size", "2097152");
        string huge = new('h', 1024 * 1024);
        await using (milter)
        {
            await using (MilterClient mta = await MilterClient.ConnectAsync($"unix:{socket}"))
            {
                await mta.NegotiateAsync();
                await mta.MacroAsync('C', ("{daemon_name}", "mta" + Forged));
                await mta.ConnectAsync("client" + Forged, ConnectFamily.IPv4, 25, "192.0.2.1" + Forged);
                await mta.HeloAsync("helo" + Forged);
                await mta.MacroAsync('M', ("{auth_authen}", "login" + Forged));
                await mta.MailFromAsync("<sender" + Forged + "@example.org>", "SIZE=1" + Forged);
                await mta.RcptToAsync("<rcpt@example.net>", "NOTIFY=NEVER" + Forged);
                await mta.DataAsync();
                await mta.HeaderAsync("X-Huge", huge);
                await mta.HeaderAsync("X-Forge", "value" + Forged);
                await mta.EndOfHeadersAsync();
                await mta.BodyAsync("Body.\r\n");
                await mta.MacroAsync('E', ("i", "QUEUEID" + Forged));
                await mta.EndOfMessageAsync();
                await mta.UnknownAsync("XYZZY" + Forged);
                await mta.QuitAsync();
                Assert.True(await mta.WaitForCloseAsync());
            }

            await MetricsEndpointLimitsTests.WaitUntilAsync(() => File.Exists(logFile) && File.ReadAllText(logFile).Contains("] close", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10), milter, () => "the log filter's close line was not written");
        }

        byte[] log = File.ReadAllBytes(logFile);
        Assert.DoesNotContain((byte)'\r', log);
        string[] lines = Encoding.UTF8.GetString(log).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Every line is one the daemon wrote: none starts with the forged prefix, each forged part is shown escaped.
        Assert.All(lines, l => Assert.Matches(LinePrefix(), l));
        Assert.DoesNotContain(lines, l => l.StartsWith("1999-01-01", StringComparison.Ordinal));
        foreach (string what in new[] { "connect from client", "helo helo", "mail from <sender", "rcpt to <rcpt@example.net> NOTIFY=NEVER", "header X-Forge: value", "unknown command XYZZY" })
        {
            string line = Assert.Single(lines, l => l.Contains(what, StringComparison.Ordinal));
            Assert.Contains(@"\r\n1999-01-01 00:00:00.000 INF forged", line);
        }

        string hugeLine = Assert.Single(lines, l => l.Contains("header X-Huge: ", StringComparison.Ordinal));
        Assert.Contains("header X-Huge: " + new string('h', 256) + $"…(+{huge.Length - 256} bytes)", hugeLine);
        Assert.True(Encoding.UTF8.GetByteCount(hugeLine) < 400, $"{hugeLine.Length} characters in the header line");
        Assert.True(log.Length < 16 * 1024, $"{log.Length} bytes of log for one connection");
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Z]{3} ")]
    private static partial Regex LinePrefix();
}
