using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

public class MacroTests
{
    private static readonly string[] Watched = ["j", "{client_addr}", "{tls_version}", "{mail_addr}", "i", "{rcpt_addr}", "{msg_id}"];

    private static IEnumerable<string> At(Probe probe, string eventName) => probe.Macros.Where(m => m.StartsWith(eventName + " ", StringComparison.Ordinal));

    [Fact]
    public async Task MacrosAreVisibleWithTheirLifetimeAcrossRecipientsAndTwoMessages()
    {
        var probe = new Probe { WatchedMacros = Watched };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await mta.MacroAsync('C', ("j", "mx.example.org"), ("{client_addr}", "192.0.2.10"));
        await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 50000, "192.0.2.10");
        await mta.MacroAsync('H', ("{tls_version}", "TLSv1.3"));
        await mta.HeloAsync("client.example.org");
        // Message 1.
        await mta.MacroAsync('M', ("{mail_addr}", "a@example.org"), ("i", "QID1"));
        await mta.MailFromAsync("<a@example.org>");
        await mta.MacroAsync('R', ("{rcpt_addr}", "r1@example.net"));
        await mta.RcptToAsync("<r1@example.net>");
        await mta.MacroAsync('R', ("{rcpt_addr}", "r2@example.net"));
        await mta.RcptToAsync("<r2@example.net>");
        await mta.MacroAsync('T');
        await mta.DataAsync();
        await mta.MacroAsync('E', ("{msg_id}", "<m1@example.org>"));
        await mta.EndOfMessageAsync();
        // Message 2.
        await mta.MacroAsync('M', ("{mail_addr}", "b@example.org"), ("i", "QID2"));
        await mta.MailFromAsync("<b@example.org>");
        await mta.MacroAsync('R', ("{rcpt_addr}", "r3@example.net"));
        await mta.RcptToAsync("<r3@example.net>");
        await mta.MacroAsync('E');
        await mta.EndOfMessageAsync();

        Assert.Equal(
        [
            "connect j=mx.example.org", "connect {client_addr}=192.0.2.10", "connect {tls_version}=-", "connect {mail_addr}=-", "connect i=-", "connect {rcpt_addr}=-", "connect {msg_id}=-",
            "helo j=mx.example.org", "helo {client_addr}=192.0.2.10", "helo {tls_version}=TLSv1.3", "helo {mail_addr}=-", "helo i=-", "helo {rcpt_addr}=-", "helo {msg_id}=-",
            "mailfrom j=mx.example.org", "mailfrom {client_addr}=192.0.2.10", "mailfrom {tls_version}=TLSv1.3", "mailfrom {mail_addr}=a@example.org", "mailfrom i=QID1", "mailfrom {rcpt_addr}=-", "mailfrom {msg_id}=-",
            "rcptto j=mx.example.org", "rcptto {client_addr}=192.0.2.10", "rcptto {tls_version}=TLSv1.3", "rcptto {mail_addr}=a@example.org", "rcptto i=QID1", "rcptto {rcpt_addr}=r1@example.net", "rcptto {msg_id}=-",
            "rcptto j=mx.example.org", "rcptto {client_addr}=192.0.2.10", "rcptto {tls_version}=TLSv1.3", "rcptto {mail_addr}=a@example.org", "rcptto i=QID1", "rcptto {rcpt_addr}=r2@example.net", "rcptto {msg_id}=-",
            "data j=mx.example.org", "data {client_addr}=192.0.2.10", "data {tls_version}=TLSv1.3", "data {mail_addr}=a@example.org", "data i=QID1", "data {rcpt_addr}=r2@example.net", "data {msg_id}=-",
            "endofmessage j=mx.example.org", "endofmessage {client_addr}=192.0.2.10", "endofmessage {tls_version}=TLSv1.3", "endofmessage {mail_addr}=a@example.org", "endofmessage i=QID1", "endofmessage {rcpt_addr}=r2@example.net", "endofmessage {msg_id}=<m1@example.org>",
            "mailfrom j=mx.example.org", "mailfrom {client_addr}=192.0.2.10", "mailfrom {tls_version}=TLSv1.3", "mailfrom {mail_addr}=b@example.org", "mailfrom i=QID2", "mailfrom {rcpt_addr}=-", "mailfrom {msg_id}=-",
            "rcptto j=mx.example.org", "rcptto {client_addr}=192.0.2.10", "rcptto {tls_version}=TLSv1.3", "rcptto {mail_addr}=b@example.org", "rcptto i=QID2", "rcptto {rcpt_addr}=r3@example.net", "rcptto {msg_id}=-",
            "endofmessage j=mx.example.org", "endofmessage {client_addr}=192.0.2.10", "endofmessage {tls_version}=TLSv1.3", "endofmessage {mail_addr}=b@example.org", "endofmessage i=QID2", "endofmessage {rcpt_addr}=r3@example.net", "endofmessage {msg_id}=-",
        ], probe.Macros);
    }

    [Fact]
    public async Task ANewMailForgetsTheLastMessagesRecipientAndLaterMacrosEvenWithoutMailMacros()
    {
        // libmilter clears the stages after MAIL when MAIL arrives, not only when MAIL macros do; an MTA configured
        // to send no MAIL macros must not leak one message's RCPT and end-of-message macros into the next.
        var probe = new Probe { WatchedMacros = ["{rcpt_addr}", "{msg_id}", "{client_addr}"] };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await mta.MacroAsync('C', ("{client_addr}", "192.0.2.10"));
        await mta.ConnectAsync("client", ConnectFamily.IPv4, 1, "192.0.2.10");
        await mta.MailFromAsync("<a@example.org>");
        await mta.MacroAsync('R', ("{rcpt_addr}", "r1@example.net"));
        await mta.RcptToAsync("<r1@example.net>");
        await mta.MacroAsync('E', ("{msg_id}", "<m1@example.org>"));
        await mta.EndOfMessageAsync();

        await mta.MailFromAsync("<b@example.org>");
        await mta.RcptToAsync("<r2@example.net>");

        Assert.Equal(["mailfrom {rcpt_addr}=-", "mailfrom {msg_id}=-", "mailfrom {client_addr}=192.0.2.10"], At(probe, "mailfrom").Skip(3));
        Assert.Equal(["rcptto {rcpt_addr}=-", "rcptto {msg_id}=-", "rcptto {client_addr}=192.0.2.10"], At(probe, "rcptto").Skip(3));
    }

    [Fact]
    public async Task PostfixEmptyMacroPacketsAndHeaderBodyAndUnknownStagesAreTolerated()
    {
        var probe = new Probe { WatchedMacros = ["i", "{mail_addr}"] };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await mta.MacroAsync('C');
        Assert.Equal(MilterReply.Continue, await mta.ConnectAsync("client", ConnectFamily.IPv4, 1, "192.0.2.1"));
        await mta.MacroAsync('M', ("{mail_addr}", "a@example.org"));
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync("<a@example.org>"));
        await mta.MacroAsync('R', ("i", "QID"));
        Assert.Equal(MilterReply.Continue, await mta.RcptToAsync("<b@example.org>"));
        await mta.MacroAsync('U');
        Assert.Equal(MilterReply.Continue, await mta.UnknownAsync("XYZZY"));
        await mta.MacroAsync('T');
        Assert.Equal(MilterReply.Continue, await mta.DataAsync());
        await mta.MacroAsync('L', ("i", "QID"));
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("Subject", "x"));
        await mta.MacroAsync('L');
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("From", "<a@example.org>"));
        await mta.MacroAsync('N', ("i", "QID"));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        await mta.MacroAsync('B', ("i", "QID"));
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync("x\r\n"));
        await mta.MacroAsync('E', ("i", "QID"));

        Assert.Equal(MilterReply.Continue, (await mta.EndOfMessageAsync()).Reply);
        Assert.Equal(["body i=QID", "body {mail_addr}=a@example.org"], probe.Macros.Where(m => m.StartsWith("body", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task MacrosOfOneSmtpConnectionAreGoneAfterQuitNewConnection()
    {
        var probe = new Probe { WatchedMacros = ["j", "{client_addr}"] };
        await using TestServer server = TestServer.Start(probe.Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();
        await mta.MacroAsync('C', ("j", "mx"), ("{client_addr}", "192.0.2.1"));
        await mta.ConnectAsync("first", ConnectFamily.IPv4, 1, "192.0.2.1");

        await mta.QuitNewConnectionAsync();
        await mta.ConnectAsync("second", ConnectFamily.IPv4, 2, "192.0.2.2");

        Assert.Equal(["connect j=mx", "connect {client_addr}=192.0.2.1", "connect j=-", "connect {client_addr}=-"], At(probe, "connect"));
    }

    [Fact]
    public async Task AMacroPacketWithoutAStageByteClosesTheConnection()
    {
        await using TestServer server = TestServer.Start(new Probe().Register());
        await using MilterClient mta = await server.ConnectAndNegotiateAsync();

        await mta.SendFrameAsync((byte)'D');

        Assert.True(await mta.WaitForCloseAsync());
        await server.Logs.WaitForAsync(nameof(MilterProtocolError.MissingMacroStage));
    }
}
