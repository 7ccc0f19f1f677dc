using System.Buffers.Binary;
using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class LimitsAndBadInputTests
{
    [Fact]
    public async Task AHeaderLargerThan64KiBAsPostfixCanSendIsAccepted()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Data);
        string value = string.Concat(Enumerable.Repeat("0123456789", 10_000)) + "\n\tend";

        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Huge", value));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "small again"));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());

        Assert.Contains($"header X-Huge: {value}", probe.Events);
        Assert.Equal("header Subject: small again", probe.Events[^2]);
    }

    [Fact]
    public async Task AFrameAboveTheMaximumClosesThatConnectionAndOthersKeepWorking()
    {
        await using TestServer server = TestServer.Start(o => o with { MaxPacketSize = 64 * 1024 }, new Probe().Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using MilterClient offender = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(offender, MilterEvent.Data);

        // Only the header of a 100 KB header frame: the length alone must be enough to refuse it.
        byte[] header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, 100_001);
        header[4] = (byte)'L';
        await offender.SendBytesAsync(header);

        Assert.True(await offender.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.FrameTooLarge));
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(bystander, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task AFrameOfExactlyTheMaximumIsAccepted()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(o => o with { MaxPacketSize = 64 * 1024 }, probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Data);
        string value = new('v', 64 * 1024 - "X-Big".Length - 2);

        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("X-Big", value));
    }

    [Theory]
    [InlineData((byte)'Z')]
    [InlineData((byte)0)]
    [InlineData((byte)0xFF)]
    [InlineData((byte)'c')]
    public async Task AnUnknownCommandClosesOnlyThatConnection(byte command)
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using MilterClient garbage = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(garbage, MilterEvent.RcptTo);

        await garbage.SendFrameAsync(command, "junk"u8.ToArray());

        Assert.True(await garbage.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.UnknownCommand));
        await probe.WaitForEventAsync("close");
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(bystander, MilterEvent.EndOfMessage));
    }

    [Fact]
    public async Task AZeroLengthFrameClosesTheConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await mta.SendBytesAsync(new byte[4]);

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.EmptyFrame));
    }

    [Theory]
    [InlineData('C', "host\0X\0\0addr\0", MilterProtocolError.UnknownAddressFamily)]
    [InlineData('C', "host\0" + "4", MilterProtocolError.TruncatedPayload)]
    [InlineData('C', "host", MilterProtocolError.MissingTerminator)]
    [InlineData('L', "Subject", MilterProtocolError.MissingTerminator)]
    [InlineData('M', "<unterminated@example.org>", MilterProtocolError.MissingTerminator)]
    [InlineData('H', "helo-without-nul", MilterProtocolError.MissingTerminator)]
    public async Task AMalformedCommandClosesTheConnectionWithItsError(char command, string payload, MilterProtocolError error)
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await mta.SendFrameAsync((byte)command, System.Text.Encoding.Latin1.GetBytes(payload));

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync($"protocol error {error}");
        await probe.WaitForEventAsync("close");
    }

    [Theory]
    [InlineData('M', "<sender@example.org>\0SIZE=100")]
    [InlineData('M', "<sender@example.org>\0SIZE=100\0BODY=8BITMIME")]
    [InlineData('R', "<rcpt@example.net>\0NOTIFY=NEVER")]
    public async Task AnEsmtpArgumentWithoutItsNulIsAProtocolErrorOfThatConnectionAndNoFilterSeesIt(char command, string payload)
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient bystander = await server.ConnectAndNegotiateAsync();
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, command == 'M' ? MilterEvent.Helo : MilterEvent.MailFrom);
        int before = probe.Events.Count;

        await mta.SendFrameAsync((byte)command, System.Text.Encoding.Latin1.GetBytes(payload));

        Assert.True(await mta.WaitForCloseAsync());
        LogCollector.Entry error = await server.Logs.WaitForAsync($"protocol error {MilterProtocolError.MissingTerminator}: ESMTP argument is not NUL-terminated");
        await probe.WaitForEventAsync("close");

        // The frame was refused as it was read: the filter saw nothing of it, and no filter failed later.
        Assert.DoesNotContain(probe.Events.Skip(before), e => e.StartsWith("mailfrom", StringComparison.Ordinal) || e.StartsWith("rcptto", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Exception is not null || e.Message.Contains("failed in", StringComparison.Ordinal));
        Assert.Single(server.Logs.Entries, e => e.Message.Contains("protocol error", StringComparison.Ordinal));
        Assert.Null(error.Exception);
        Assert.Equal(MilterReply.Continue, await Transcript.RunUntilAsync(bystander, MilterEvent.EndOfMessage));
    }

    /// <summary>What Postfix and Sendmail send in MAIL and RCPT is never refused, with or without angle brackets.</summary>
    [Theory]
    [InlineData("<>", new string[0])]
    [InlineData("<>", new[] { "BODY=8BITMIME", "RET=HDRS", "ENVID=abc+2Bdef" })]
    [InlineData("<sender@example.org>", new[] { "SIZE=1024", "BODY=8BITMIME", "SMTPUTF8" })]
    [InlineData("sender@example.org", new string[0])]
    [InlineData("<\"first last\"@example.org>", new[] { "AUTH=<>" })]
    [InlineData("<δοκιμή@παράδειγμα.δοκιμή>", new[] { "SMTPUTF8" })]
    public async Task EveryEnvelopeARealMtaSendsReachesTheFilterWithItsArguments(string address, string[] arguments)
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(mta, MilterEvent.Helo);

        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(address, arguments));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync(address, arguments));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<rcpt@example.net>", "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;rcpt@example.net"));

        string described = string.Join(' ', [address, .. arguments]);
        Assert.Equal(
            [$"mailfrom {described}", $"rcptto {described}", "rcptto <rcpt@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.net"],
            probe.Events.TakeLast(3));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning);
    }

    [Fact]
    public async Task AnMtaThatHangsUpInTheMiddleOfAFrameIsLoggedAndItsSessionClosed()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(probe.Register());
        await using (MilterClient mta = await server.ConnectAndNegotiateAsync())
        {
            await Transcript.RunUntilAsync(mta, MilterEvent.RcptTo);
            await mta.SendBytesAsync(new byte[] { 0, 0, 0, 20, (byte)'L', (byte)'X' });
        }

        await server.Logs.WaitForAsync("in the middle of a frame");
        await probe.WaitForEventAsync("close");
        Assert.Equal(["abort", "close"], probe.Events.TakeLast(2));
    }

    [Fact]
    public async Task AnMtaThatSendsNothingForTheReadTimeoutIsDisconnected()
    {
        var probe = new Probe();
        await using TestServer server = TestServer.Start(o => o with { ReadTimeout = TimeSpan.FromMilliseconds(300) }, probe.Register());
        await using MilterClient silent = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(silent, MilterEvent.MailFrom);

        Assert.True(await silent.WaitForCloseAsync());
        await server.Logs.WaitForAsync("no command from the MTA");
        await probe.WaitForEventAsync("close");
        Assert.Equal(["abort", "close"], probe.Events.TakeLast(2));
    }

    [Fact]
    public async Task PipelinedCommandsInOneWriteAreAllAnsweredInOrder()
    {
        var probe = new Probe { Decide = (e, arg, _) => e == MilterEvent.RcptTo && arg.Contains("no", StringComparison.Ordinal) ? Verdict.Reject : Verdict.Continue };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        var batch = new ByteBufferWriter();
        MilterFrameWriter.Write(batch, (byte)'C', "h\0U"u8);
        MilterFrameWriter.Write(batch, (byte)'M', "<a@b>\0"u8);
        MilterFrameWriter.Write(batch, (byte)'R', "<yes@b>\0"u8);
        MilterFrameWriter.Write(batch, (byte)'R', "<no@b>\0"u8);
        MilterFrameWriter.Write(batch, (byte)'R', "<yes2@b>\0"u8);
        await mta.SendBytesAsync(batch.WrittenMemory.ToArray());

        var replies = new List<char>();
        for (int i = 0; i < 5; i++)
        {
            replies.Add((await mta.ReadFrameAsync())!.Letter);
        }

        Assert.Equal("cccrc".ToCharArray(), replies);
    }

    [Fact]
    public async Task TheServerStopsCleanlyWithConnectionsOpenAndRemovesItsSocket()
    {
        var probe = new Probe();
        TestServer server = TestServer.Start(probe.Register());
        string path = server.Options.Socket.Path!;
        MilterClient idle = await server.ConnectAndNegotiateAsync();
        await Transcript.RunUntilAsync(idle, MilterEvent.Helo);
        Assert.True(File.Exists(path));

        await server.DisposeAsync();

        Assert.False(File.Exists(path));
        Assert.True(await idle.WaitForCloseAsync());
        Assert.Contains("close", probe.Events);
        await idle.DisposeAsync();
    }
}
