using AotMilter.Mta;
using AotMilter.Protocol;
using AotMilter.Testing;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>Sends a message's content the way an MTA does: only the events the milter did not decline.</summary>
internal static class ClientExtensions
{
    /// <summary>Headers, end of headers and body; returns the first answer that is not continue (or continue).</summary>
    public static async Task<MilterReply> SendContentAsync(this MilterClient mta, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body)
    {
        ProtocolFlags declined = mta.Negotiated!.DeclinedEvents;
        if ((declined & ProtocolFlags.NoData) == 0)
        {
            MilterReply data = await mta.DataAsync();
            if (data.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
            {
                return data;
            }
        }

        if ((declined & ProtocolFlags.NoHeaders) == 0)
        {
            foreach ((string name, string value) in headers)
            {
                MilterReply reply = await mta.HeaderAsync(name, value);
                if (reply.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
                {
                    return reply;
                }
            }
        }

        if ((declined & ProtocolFlags.NoEndOfHeaders) == 0)
        {
            MilterReply eoh = await mta.EndOfHeadersAsync();
            if (eoh.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
            {
                return eoh;
            }
        }

        if ((declined & ProtocolFlags.NoBody) == 0)
        {
            MilterReply reply = await mta.BodyAsync(body);
            if (reply.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply or MilterReplyKind.Skip))
            {
                return reply;
            }
        }

        return MilterReply.Continue;
    }

    /// <summary>
    /// MAIL, RCPT, the header fields and body given, then end of message with the queue id macro (<c>i</c>) as the
    /// MTA sends it there; null when the milter refused the message before its end.
    /// </summary>
    public static async Task<EndOfMessageResult?> SendWithQueueIdAsync(this MilterClient mta, string from, string to, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body, string queueId)
    {
        await mta.MailFromAsync($"<{from}>");
        if ((mta.Negotiated!.DeclinedEvents & ProtocolFlags.NoRcpt) == 0)
        {
            await mta.RcptToAsync($"<{to}>");
        }

        MilterReply content = await mta.SendContentAsync(headers, body);
        if (content.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
        {
            return null;
        }

        await mta.MacroAsync('E', ("i", queueId));
        return await mta.EndOfMessageAsync();
    }

    /// <summary>A whole message (header block and body, as in a file) sent as content, then end of message.</summary>
    public static async Task<EndOfMessageResult?> SendMessageAsync(this MilterClient mta, string from, string[] to, byte[] message, params (string Name, string Value)[] mailMacros)
    {
        if (mailMacros.Length > 0)
        {
            await mta.MacroAsync('M', mailMacros);
        }

        MilterReply mail = await mta.MailFromAsync($"<{from}>");
        if (mail.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
        {
            return null;
        }

        foreach (string rcpt in to)
        {
            await mta.RcptToAsync($"<{rcpt}>");
        }

        (List<KeyValuePair<string, string>> headers, byte[] body) = MessageFile.Split(message);
        MilterReply content = await mta.SendContentAsync(headers, body);
        if (content.Kind is not (MilterReplyKind.Continue or MilterReplyKind.NoReply))
        {
            return new EndOfMessageResult([], content, 0);
        }

        return await mta.EndOfMessageAsync();
    }
}
