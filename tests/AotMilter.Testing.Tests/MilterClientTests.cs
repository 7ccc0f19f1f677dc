using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;
using static AotMilter.Testing.Tests.FakeMilter;

namespace AotMilter.Testing.Tests;

public class MilterClientTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes).Replace("\0", "|", StringComparison.Ordinal);

    // ---- negotiation

    [Fact]
    public async Task NegotiationSendsTheOfferAndReadsTheReplyWithItsSymbolLists()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            Task<NegotiationResult> negotiate = client.NegotiateAsync();
            byte[] offer = await milter.ExpectAsync('O');
            await milter.SendAsync(Negotiation(6, ActionFlags.AddHeaders | ActionFlags.SetSymbolList, ProtocolFlags.NoHelo | ProtocolFlags.NoReplyHeader,
                (MacroStage.Connect, "j {client_addr}"), (MacroStage.EndOfMessage, "i")));
            NegotiationResult result = await negotiate;

            Assert.Equal(new OptionNegotiation(6, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6), OptionNegotiation.Parse(offer));
            Assert.Equal(12, offer.Length);
            Assert.Equal(6u, result.Version);
            Assert.Equal(ActionFlags.AddHeaders | ActionFlags.SetSymbolList, result.Actions);
            Assert.Equal(ProtocolFlags.NoHelo, result.DeclinedEvents);
            Assert.Equal(ProtocolFlags.NoReplyHeader, result.NoReplyEvents);
            Assert.Equal("j {client_addr}", result.SymbolLists[MacroStage.Connect]);
            Assert.Equal("i", result.SymbolLists[MacroStage.EndOfMessage]);
            Assert.Same(result, client.Negotiated);
        }
    }

    [Fact]
    public async Task BitsTheMilterAsksForButTheClientDidNotOfferAreNotInForce()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.NoHelo | ProtocolFlags.NoReplyHeader,
                offeredVersion: 2, offeredProtocol: (ProtocolFlags)0x7F);

            Assert.Equal(ProtocolFlags.NoHelo, client.Negotiated!.EffectiveProtocol);
            Task<MilterReply> header = client.HeaderAsync("Subject", "x");
            await milter.ExpectAsync('L');
            await milter.SendAsync(Frame('c'));
            Assert.Equal(MilterReply.Continue, await header);
        }
    }

    [Fact]
    public async Task AReplyWithAHigherVersionThanOfferedIsAProtocolError()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            Task<NegotiationResult> negotiate = client.NegotiateAsync(4, ActionFlags.AllVersion6, ProtocolFlags.AllVersion6);
            await milter.ExpectAsync('O');
            await milter.SendAsync(Negotiation(6, ActionFlags.None, ProtocolFlags.None));

            MilterProtocolException ex = await Assert.ThrowsAsync<MilterProtocolException>(() => negotiate);
            Assert.Equal(MilterProtocolError.UnsupportedVersion, ex.Error);
        }
    }

    [Fact]
    public async Task AReplyAskingForActionsNotOfferedIsAProtocolError()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            Task<NegotiationResult> negotiate = client.NegotiateAsync(2, (ActionFlags)0x3F, (ProtocolFlags)0x7F);
            await milter.ExpectAsync('O');
            await milter.SendAsync(Negotiation(2, ActionFlags.ChangeSender, ProtocolFlags.None));

            MilterProtocolException ex = await Assert.ThrowsAsync<MilterProtocolException>(() => negotiate);
            Assert.Equal(MilterProtocolError.ActionsNotOffered, ex.Error);
        }
    }

    [Fact]
    public async Task EventsBeforeNegotiationAndASecondNegotiationAreRefused()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => client.HeloAsync("h"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => client.EndOfMessageAsync());
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            await Assert.ThrowsAsync<InvalidOperationException>(() => client.NegotiateAsync());
            Assert.True(await milter.IsQuietAsync(Quiet));
        }
    }

    [Fact]
    public async Task ADeclinedEventThrowsWithAClearMessageAndSendsNothing()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.AllSkips);

            foreach (Func<Task> send in new Func<Task>[]
            {
                () => client.ConnectAsync("h", ConnectFamily.Unknown, 0, ""), () => client.HeloAsync("h"),
                () => client.MailFromAsync("<a@b>"), () => client.RcptToAsync("<c@d>"), () => client.DataAsync(),
                () => client.HeaderAsync("a", "b"), () => client.EndOfHeadersAsync(), () => client.BodyAsync("x"),
                () => client.UnknownAsync("X"),
            })
            {
                InvalidOperationException ex = await Assert.ThrowsAsync<InvalidOperationException>(send);
                Assert.Contains("declined", ex.Message, StringComparison.Ordinal);
            }

            Assert.True(await milter.IsQuietAsync(Quiet));
        }
    }

    // ---- encoding of commands

    [Fact]
    public async Task EveryCommandIsEncodedAsTheMtasEncodeIt()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.AllNoReplies);

            await client.MacroAsync('C', ("j", "mx"), ("{daemon_name}", "smtpd"));
            await client.ConnectAsync("client.example.org", ConnectFamily.IPv4, 0x1234, "192.0.2.1");
            await client.ConnectAsync("localhost", ConnectFamily.Unknown, 99, "ignored");
            await client.HeloAsync("helo.example.org");
            await client.MailFromAsync("<a@example.org>", "SIZE=10", "BODY=8BITMIME");
            await client.RcptToAsync("<b@example.org>");
            await client.DataAsync();
            await client.HeaderAsync("Subject", "Grüße");
            await client.EndOfHeadersAsync();
            await client.BodyAsync("line\r\n");
            await client.UnknownAsync("XYZZY");
            await client.AbortAsync();
            await client.QuitNewConnectionAsync();
            await client.QuitAsync();

            string[] expected =
            [
                "D Cj|mx|{daemon_name}|smtpd|", "C client.example.org|4\u00124192.0.2.1|",
                "C localhost|U", "H helo.example.org|", "M <a@example.org>|SIZE=10|BODY=8BITMIME|", "R <b@example.org>|",
                "T ", "L Subject|Grüße|", "N ", "B line\r\n", "U XYZZY|", "A ", "K ", "Q ",
            ];
            var received = new List<string>();
            for (int i = 0; i < expected.Length; i++)
            {
                (char c, byte[] payload) = await milter.ReadAsync();
                received.Add($"{c} {Text(payload)}");
            }

            Assert.Equal(expected, received);
        }
    }

    // ---- waiting for replies

    [Fact]
    public async Task ForNoReplyEventsTheClientDoesNotWait()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.NoReplyHeader | ProtocolFlags.NoReplyConnect);

            Assert.Equal(MilterReply.NoReply, await client.ConnectAsync("h", ConnectFamily.Unknown, 0, ""));
            Assert.Equal(MilterReply.NoReply, await client.HeaderAsync("A", "1"));
            Assert.Equal(MilterReply.NoReply, await client.HeaderAsync("B", "2"));
            Task<MilterReply> eoh = client.EndOfHeadersAsync();
            Assert.Equal('C', (await milter.ReadAsync()).Command);
            Assert.Equal('L', (await milter.ReadAsync()).Command);
            Assert.Equal('L', (await milter.ReadAsync()).Command);
            Assert.Equal('N', (await milter.ReadAsync()).Command);
            await milter.SendAsync(Frame('t'));

            Assert.Equal(MilterReply.TempFail, await eoh);
        }
    }

    [Fact]
    public async Task ProgressFramesAreCountedAndSkippedWhileWaiting()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> rcpt = client.RcptToAsync("<a@b>");
            await milter.ExpectAsync('R');
            await milter.SendAsync(Frame('p'), Frame('p'), Frame('r'));

            Assert.Equal(MilterReply.Reject, await rcpt);
            Assert.Equal(2, client.ProgressCount);
        }
    }

    [Theory]
    [InlineData('c', MilterReplyKind.Continue)]
    [InlineData('a', MilterReplyKind.Accept)]
    [InlineData('r', MilterReplyKind.Reject)]
    [InlineData('t', MilterReplyKind.TempFail)]
    [InlineData('d', MilterReplyKind.Discard)]
    [InlineData('4', MilterReplyKind.Shutdown)]
    public async Task EachReplyLetterIsTyped(char letter, MilterReplyKind kind)
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> mail = client.MailFromAsync("<a@b>");
            await milter.ExpectAsync('M');
            await milter.SendAsync(Frame(letter));

            Assert.Equal(new MilterReply(kind), await mail);
        }
    }

    [Fact]
    public async Task AReplyCodeCarriesItsCodeAndText()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> rcpt = client.RcptToAsync("<a@b>");
            await milter.ExpectAsync('R');
            await milter.SendAsync(Frame('y', Str("451-4.7.1 Greylisted\r\n451 4.7.1 Come back later")));
            MilterReply reply = await rcpt;

            Assert.Equal(MilterReplyKind.ReplyCode, reply.Kind);
            Assert.Equal(451, reply.Code);
            Assert.True(reply.IsTemporaryFailure);
            Assert.False(reply.IsRejection);
            Assert.Equal(["451-4.7.1 Greylisted", "451 4.7.1 Come back later"], reply.Lines);
        }
    }

    [Theory]
    [InlineData("250 ok")]
    [InlineData("5x0 bad")]
    [InlineData("55")]
    public async Task AReplyCodeThatIsNotA4xxOr5xxReplyIsAProtocolError(string text)
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> rcpt = client.RcptToAsync("<a@b>");
            await milter.ExpectAsync('R');
            await milter.SendAsync(Frame('y', Str(text)));

            await Assert.ThrowsAsync<MilterProtocolException>(() => rcpt);
        }
    }

    [Fact]
    public async Task SkipWithoutSkipNegotiatedIsAProtocolError()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> body = client.BodyAsync("x");
            await milter.ExpectAsync('B');
            await milter.SendAsync(Frame('s'));

            MilterProtocolException ex = await Assert.ThrowsAsync<MilterProtocolException>(() => body);
            Assert.Contains("SKIP was not negotiated", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AModificationOutsideEndOfMessageIsAProtocolError()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.AddHeaders, ProtocolFlags.None);

            Task<MilterReply> rcpt = client.RcptToAsync("<a@b>");
            await milter.ExpectAsync('R');
            await milter.SendAsync(Frame('h', Str("X-Too"), Str("early")), Frame('c'));

            MilterProtocolException ex = await Assert.ThrowsAsync<MilterProtocolException>(() => rcpt);
            Assert.Equal(MilterProtocolError.UnexpectedCommand, ex.Error);
        }
    }

    [Fact]
    public async Task AMilterThatDoesNotAnswerTimesOut()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync(TimeSpan.FromMilliseconds(200));
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            TimeoutException ex = await Assert.ThrowsAsync<TimeoutException>(() => client.HeloAsync("h"));
            Assert.Contains("reply to 'H'", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AMilterThatHangsUpInsteadOfAnsweringIsEndOfStream()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> helo = client.HeloAsync("h");
            await milter.ExpectAsync('H');
            milter.Close();

            await Assert.ThrowsAsync<EndOfStreamException>(() => helo);
        }
    }

    [Fact]
    public async Task WaitForCloseTellsAClosedConnectionFromAnOpenOne()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            Assert.False(await client.WaitForCloseAsync(TimeSpan.FromMilliseconds(100)));

            milter.Close();

            Assert.True(await client.WaitForCloseAsync());
            Assert.Null(await client.ReadFrameAsync());
        }
    }

    // ---- body

    [Fact]
    public async Task ABodyIsSentInChunksOfAtMost65535BytesEachAnswered()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);
            byte[] body = new byte[150_000];
            new Random(1).NextBytes(body);

            Task<MilterReply> send = client.BodyAsync(body);
            var chunks = new List<byte[]>();
            for (int i = 0; i < 3; i++)
            {
                chunks.Add(await milter.ExpectAsync('B'));
                Assert.True(await milter.IsQuietAsync(Quiet), "the next chunk was sent before the answer to this one");
                await milter.SendAsync(Frame('c'));
            }

            Assert.Equal(MilterReply.Continue, await send);
            Assert.Equal([65535, 65535, 18930], chunks.Select(c => c.Length));
            Assert.Equal(body, chunks.SelectMany(c => c).ToArray());
        }
    }

    [Fact]
    public async Task TheBodyStopsAtTheFirstAnswerOtherThanContinue()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<MilterReply> send = client.BodyAsync(new byte[200_000]);
            await milter.ExpectAsync('B');
            await milter.SendAsync(Frame('r'));

            Assert.Equal(MilterReply.Reject, await send);
            Assert.True(await milter.IsQuietAsync(Quiet));
        }
    }

    [Fact]
    public async Task AfterSkipLaterBodyCallsOfTheMessageSendNothing()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.Skip);

            Task<MilterReply> first = client.BodyAsync(new byte[100_000]);
            await milter.ExpectAsync('B');
            await milter.SendAsync(Frame('s'));
            Assert.Equal(MilterReply.Skip, await first);

            Assert.Equal(MilterReply.Skip, await client.BodyAsync("more"));
            Assert.True(await milter.IsQuietAsync(Quiet));
        }
    }

    // ---- end of message

    [Fact]
    public async Task EndOfMessageCollectsEveryModificationProgressAndTheFinalReply()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.AllVersion6, ProtocolFlags.None);

            Task<EndOfMessageResult> eom = client.EndOfMessageAsync();
            Assert.Empty(await milter.ExpectAsync('E'));
            await milter.SendAsync(
                Frame('h', Str("X-A"), Str("1")),
                Frame('p'),
                Frame('i', U32(3), Str("X-B"), Str("2")),
                Frame('m', U32(1), Str("Subject"), Str("")),
                Frame('+', Str("<add@x>")),
                Frame('2', Str("<add2@x>"), Str("NOTIFY=NEVER")),
                Frame('-', Str("<del@x>")),
                Frame('e', Str("<from@x>")),
                Frame('e', Str("<from2@x>"), Str("RET=FULL")),
                Frame('q', Str("suspicious")),
                Frame('b', "new "u8.ToArray()),
                Frame('b', "body"u8.ToArray()),
                Frame('p'),
                Frame('a'));
            EndOfMessageResult result = await eom;

            Assert.Equal(MilterReply.Accept, result.Reply);
            Assert.Equal(2, result.ProgressCount);
            Assert.Equal(
                new Modification[]
                {
                    new Modification.AddHeader("X-A", "1"),
                    new Modification.InsertHeader(3, "X-B", "2"),
                    new Modification.ChangeHeader(1, "Subject", ""),
                    new Modification.AddRecipient("<add@x>"),
                    new Modification.AddRecipient("<add2@x>", "NOTIFY=NEVER"),
                    new Modification.DeleteRecipient("<del@x>"),
                    new Modification.ChangeSender("<from@x>"),
                    new Modification.ChangeSender("<from2@x>", "RET=FULL"),
                    new Modification.Quarantine("suspicious"),
                    new Modification.ReplaceBody("new "u8.ToArray()),
                    new Modification.ReplaceBody("body"u8.ToArray()),
                },
                result.Modifications);
            Assert.Equal("new body"u8.ToArray(), result.ReplacedBody);
        }
    }

    [Theory]
    [InlineData('h', ActionFlags.AddHeaders)]
    [InlineData('m', ActionFlags.ChangeHeaders)]
    [InlineData('q', ActionFlags.Quarantine)]
    [InlineData('b', ActionFlags.ChangeBody)]
    public async Task AModificationWhoseActionWasNotNegotiatedIsAProtocolError(char letter, ActionFlags missing)
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.AllVersion6 & ~missing, ProtocolFlags.None);

            Task<EndOfMessageResult> eom = client.EndOfMessageAsync();
            await milter.ExpectAsync('E');
            byte[] payload = letter == 'm' ? [.. U32(1), .. Str("S"), .. Str("v")] : letter == 'h' ? [.. Str("S"), .. Str("v")] : Str("x");
            await milter.SendAsync(Frame(letter, payload), Frame('c'));

            MilterProtocolException ex = await Assert.ThrowsAsync<MilterProtocolException>(() => eom);
            Assert.Contains(missing.ToString(), ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task EndOfMessageCanCarryTrailingBodyBytes()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await NegotiateAsync(milter, client, ActionFlags.None, ProtocolFlags.None);

            Task<EndOfMessageResult> eom = client.EndOfMessageAsync("tail\r\n"u8.ToArray());
            Assert.Equal("tail\r\n"u8.ToArray(), await milter.ExpectAsync('E'));
            await milter.SendAsync(Frame('c'));

            Assert.Equal(MilterReply.Continue, (await eom).Reply);
        }
    }

    // ---- raw access and connecting

    [Fact]
    public async Task RawFramesAndBytesGoOutUnchanged()
    {
        (FakeMilter milter, MilterClient client) = await StartAsync();
        await using (milter)
        await using (client)
        {
            await client.SendFrameAsync((byte)'Z', "junk"u8.ToArray());
            await client.SendBytesAsync(Frame('c'));
            await milter.SendAsync(Frame('x', "raw"u8.ToArray()));

            Assert.Equal(('Z', "junk"), await ReadText(milter));
            Assert.Equal(('c', ""), await ReadText(milter));
            RawFrame? frame = await client.ReadFrameAsync();
            Assert.Equal('x', frame!.Letter);
            Assert.Equal("raw"u8.ToArray(), frame.Payload);
        }

        static async Task<(char, string)> ReadText(FakeMilter milter)
        {
            (char c, byte[] p) = await milter.ReadAsync();
            return (c, Encoding.UTF8.GetString(p));
        }
    }

    [Fact]
    public async Task TheClientConnectsToAnInetSocket()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Task<Socket> accept = listener.AcceptAsync();

        await using MilterClient client = await MilterClient.ConnectAsync($"inet:{port}@127.0.0.1");
        using Socket peer = await accept.WaitAsync(TimeSpan.FromSeconds(10));
        await client.QuitAsync();

        byte[] received = new byte[5];
        int n = await peer.ReceiveAsync(received, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5, n);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(received));
        Assert.Equal((byte)'Q', received[4]);
    }

    [Fact]
    public async Task AMalformedSocketSpecificationIsAFormatError()
    {
        await Assert.ThrowsAsync<FormatException>(() => MilterClient.ConnectAsync("tcp:25"));
    }

    [Fact]
    public async Task ConnectingToASocketNobodyListensOnFails()
    {
        string path = Path.Combine(Path.GetTempPath(), "aotm-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");

        await Assert.ThrowsAnyAsync<SocketException>(() => MilterClient.ConnectAsync("unix:" + path));
    }
}
