using System.Globalization;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class ConcurrencyTests
{
    private const int Connections = 50;
    private const int MessagesPerConnection = 20;

    /// <summary>Keeps per-message state in fields, so any mix-up between connections shows in its answers.</summary>
    private sealed class EchoFilter : FilterDispatcher
    {
        private string? _id;
        private int _bodyBytes;
        private int _recipients;

        public override Verdict MailFrom(EnvelopeAddress sender, MilterContext context)
        {
            _id = null;
            _bodyBytes = 0;
            _recipients = 0;
            return sender.Address.ToString().StartsWith("reject", StringComparison.Ordinal) ? Verdict.Reject : Verdict.Continue;
        }

        public override Verdict RcptTo(EnvelopeAddress recipient, MilterContext context)
        {
            if (recipient.Is("later@example.net"))
            {
                return Verdict.TempFail;
            }

            _recipients++;
            return Verdict.Continue;
        }

        public override Verdict Header(HeaderField header, MilterContext context)
        {
            if (header.NameIs("X-Id"))
            {
                _id = header.ValueString();
            }

            return Verdict.Continue;
        }

        public override Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context)
        {
            _bodyBytes += chunk.Length;
            return Verdict.Continue;
        }

        public override Verdict EndOfMessage(MessageEditor editor, MilterContext context)
        {
            editor.AddHeader("X-Seen", $"{_id} body={_bodyBytes} rcpts={_recipients} queue={context.GetMacroString("i")}");
            return Verdict.Continue;
        }
    }

    [Fact]
    public async Task FiftyConcurrentConnectionsOfTwentyMessagesEachAllGetTheirOwnCorrectReplies()
    {
        var registration = new MilterRegistration("echo", "echoes what it saw", typeof(EchoFilter).FullName!,
            ProtocolFlags.NoHelo | ProtocolFlags.NoUnknown, ActionFlags.AddHeaders, () => new EchoFilter());
        await using TestServer server = TestServer.Start(registration);

        Task[] all = Enumerable.Range(0, Connections).Select(c => Task.Run(() => RunConnectionAsync(server, c))).ToArray();
        await Task.WhenAll(all).WaitAsync(TimeSpan.FromMinutes(3));

        await server.WaitForNoConnectionsAsync();
        Assert.Equal(Connections, server.Server.ConnectionsAccepted);
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning);
    }

    private static async Task RunConnectionAsync(TestServer server, int c)
    {
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        var random = new Random(c);
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync($"client{c}.example.org", ConnectFamily.IPv4, (ushort)(1000 + c), $"192.0.2.{c}"));
        for (int m = 0; m < MessagesPerConnection; m++)
        {
            string id = $"{c}-{m}";
            string queueId = $"Q{c:D2}{m:D2}";
            bool reject = m % 5 == 4;
            await mta.MacroAsync('M', ("i", queueId));
            MilterReply mail = await mta.MailFromAsync(reject ? $"<reject-{id}@example.org>" : $"<sender-{id}@example.org>", "SIZE=100");
            if (reject)
            {
                Assert.Equal(MilterReply.Reject, mail);
                continue;
            }

            Assert.Equal(MilterReply.Continue, mail);
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<rcpt-{id}@example.net>"));
            int recipients = 1;
            if (m % 7 == 3)
            {
                Assert.Equal(MilterReply.TempFail, await mta.RcptToAsync("<later@example.net>"));
                Assert.Equal(MilterReply.Continue, await mta.RcptToAsync($"<second-{id}@example.net>"));
                recipients++;
            }

            Assert.Equal(MilterReply.Continue, await mta.DataAsync());
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("From", $"<sender-{id}@example.org>"));
            Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Id", id));
            Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
            int size = random.Next(0, 150_000);
            Assert.Equal(MilterReply.Continue, await mta.BodyAsync(Encoding.ASCII.GetBytes(new string('x', size))));
            EndOfMessageResult eom = await mta.EndOfMessageAsync();

            Assert.Equal(MilterReply.Continue, eom.Reply);
            string expected = string.Create(CultureInfo.InvariantCulture, $"{id} body={size} rcpts={recipients} queue={queueId}");
            Assert.Equal([new Modification.AddHeader("X-Seen", expected)], eom.Modifications);
        }

        await mta.QuitAsync();
        Assert.True(await mta.WaitForCloseAsync());
    }
}
