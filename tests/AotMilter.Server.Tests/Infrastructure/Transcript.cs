using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Server.Tests;

/// <summary>The usual SMTP conversation, one step per milter event, for tests that need to reach a given event.</summary>
internal static class Transcript
{
    public static readonly MilterEvent[] MessageEvents =
    [
        MilterEvent.Connect, MilterEvent.Helo, MilterEvent.MailFrom, MilterEvent.RcptTo, MilterEvent.Data,
        MilterEvent.Header, MilterEvent.EndOfHeaders, MilterEvent.Body, MilterEvent.EndOfMessage,
    ];

    /// <summary>Sends one step of the conversation and returns the milter's answer.</summary>
    public static async Task<MilterReply> SendAsync(MilterClient mta, MilterEvent e) => e switch
    {
        MilterEvent.Connect => await mta.ConnectAsync("client.example.org", ConnectFamily.IPv4, 50000, "192.0.2.10"),
        MilterEvent.Helo => await mta.HeloAsync("client.example.org"),
        MilterEvent.MailFrom => await mta.MailFromAsync("<sender@example.org>", "SIZE=100"),
        MilterEvent.RcptTo => await mta.RcptToAsync("<rcpt@example.net>"),
        MilterEvent.Data => await mta.DataAsync(),
        MilterEvent.Header => await mta.HeaderAsync("Subject", "test message"),
        MilterEvent.EndOfHeaders => await mta.EndOfHeadersAsync(),
        MilterEvent.Body => await mta.BodyAsync("Hello.\r\n"),
        MilterEvent.EndOfMessage => (await mta.EndOfMessageAsync()).Reply,
        MilterEvent.Unknown => await mta.UnknownAsync("XYZZY plugh"),
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, "not an event the MTA sends"),
    };

    /// <summary>Sends every step up to <paramref name="target"/>, expecting continue before it; returns the answer to it.</summary>
    public static async Task<MilterReply> RunUntilAsync(MilterClient mta, MilterEvent target)
    {
        foreach (MilterEvent e in MessageEvents)
        {
            MilterReply reply = await SendAsync(mta, e);
            if (e == target)
            {
                return reply;
            }

            Assert.True(reply.Kind is MilterReplyKind.Continue or MilterReplyKind.NoReply, $"{e} was answered {reply}, not continue");
        }

        throw new ArgumentOutOfRangeException(nameof(target), target, "not part of a message");
    }

    /// <summary>A whole message from MAIL to end of message on a connection that is already past HELO.</summary>
    public static async Task<EndOfMessageResult> MessageAsync(MilterClient mta, string sender, params string[] recipients)
    {
        Assert.Equal(MilterReply.Continue, await mta.MailFromAsync(sender));
        foreach (string recipient in recipients)
        {
            Assert.Equal(MilterReply.Continue, await mta.RcptToAsync(recipient));
        }

        Assert.Equal(MilterReply.Continue, await mta.DataAsync());
        Assert.Equal(MilterReply.Continue, await mta.HeaderAsync("From", sender));
        Assert.Equal(MilterReply.Continue, await mta.EndOfHeadersAsync());
        Assert.Equal(MilterReply.Continue, await mta.BodyAsync("Body.\r\n"));
        return await mta.EndOfMessageAsync();
    }
}
