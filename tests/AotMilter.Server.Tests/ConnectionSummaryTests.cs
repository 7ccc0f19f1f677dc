using System.Buffers;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class ConnectionSummaryTests
{
    [Fact]
    public async Task EachConnectionEndsWithOneSummaryLineNamingItsClientQueueIdAndVerdict()
    {
        var probe = new Probe { Decide = (e, _, _) => e == MilterEvent.MailFrom ? Verdict.Reject : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await mta.ConnectAsync("client.example.org", ConnectFamily.IPv6, 25, "2001:db8::25");
            await mta.MacroAsync('M', ("i", "4XyZ1q2w3e"));
            Assert.Equal(MilterReply.Reject, await mta.MailFromAsync("<a@example.org>"));
            await mta.QuitAsync();
        }

        LogCollector.Entry line = await server.Logs.WaitForAsync("queue_id=");
        Assert.Matches(@"^conn=1 client=2001:db8::25 messages=1 queue_id=4XyZ1q2w3e verdict=reject duration_ms=\d+\.\d$", line.Message);
    }

    [Fact]
    public async Task AQuarantinedMessageIsLoggedAsQuarantineNotAccept()
    {
        var probe = new Probe
        {
            EndOfMessage = (editor, _) =>
            {
                editor.Quarantine("held for review");
                return Verdict.Continue;
            },
        };
        await using TestServer server = TestServer.Start(probe.Register(actions: ActionFlags.Quarantine));
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 25, "192.0.2.7");
            await mta.MacroAsync('M', ("i", "Q1"));
            await mta.MailFromAsync("<a@example.org>");
            await mta.RcptToAsync("<b@example.net>");
            EndOfMessageResult result = await mta.EndOfMessageAsync();
            Assert.Contains(result.Modifications, m => m is Modification.Quarantine);
            await mta.QuitAsync();
        }

        LogCollector.Entry line = await server.Logs.WaitForAsync("queue_id=");
        Assert.Matches(@"^conn=1 client=192\.0\.2\.7 messages=1 queue_id=Q1 verdict=quarantine duration_ms=\d+\.\d$", line.Message);
    }

    [Fact]
    public void TheTextLineIsTheSameAsTheStringAndLongOrMissingValuesAreShownSafely()
    {
        string longHost = new('h', 100);
        var summary = new ConnectionSummary(7, Encoding.UTF8.GetBytes(longHost), 0, default, "tempfail", 12.345);
        var utf8 = new ArrayBufferWriter<byte>();

        summary.ToString(utf8);

        string expected = $"conn=7 client={longHost[..61]}... messages=0 queue_id=- verdict=tempfail duration_ms=12.3";
        Assert.Equal(expected, Encoding.UTF8.GetString(utf8.WrittenSpan));
        Assert.Equal(expected, summary.ToString());
        Assert.Equal(longHost[..61] + "...", summary.GetParameterValue(1));
    }

    [Fact]
    public void AClientNameOrQueueIdWithControlCharactersCannotStartALineOfItsOwn()
    {
        var summary = new ConnectionSummary(9, "evil\r\n1999-01-01 INF forged"u8, 1, "Q\n1"u8, "continue", 1);
        var utf8 = new ArrayBufferWriter<byte>();

        summary.ToString(utf8);

        string expected = @"conn=9 client=evil\r\n1999-01-01 INF forged messages=1 queue_id=Q\n1 verdict=continue duration_ms=1.0";
        Assert.Equal(expected, Encoding.UTF8.GetString(utf8.WrittenSpan));
        Assert.Equal(expected, summary.ToString());
    }

    [Fact]
    public void EachLineWaitingForTheLogWriterHoldsAtMostTwoHundredBytesOfSummary()
    {
        // Up to Logging.MaxQueuedLines (16,384) summaries can wait for a stalled log destination, each in a pooled
        // entry that keeps this state: the raw client and queue id bytes (64 each), not their escaped form (up to 288).
        Assert.InRange(System.Runtime.CompilerServices.Unsafe.SizeOf<ConnectionSummary>(), 1, 200);
    }
}
