using System.Text;
using System.Text.Json;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.Rspamd;

/// <summary>What rspamd is told about a message besides its content: the envelope, as request headers.</summary>
internal sealed class RspamdEnvelope
{
    /// <summary>Recipients sent at most (the MTA bounds them too; rspamd needs no more to score).</summary>
    public const int MaxRecipients = 1000;

    public string? Ip { get; set; }

    public string? Hostname { get; set; }

    public string? Helo { get; set; }

    public string? From { get; set; }

    public List<string> Recipients { get; } = [];

    public string? User { get; set; }

    public void ClearMessage()
    {
        From = null;
        User = null;
        Recipients.Clear();
    }
}

/// <summary>
/// One <c>POST /checkv2</c> to rspamd's normal worker, HTTP/1.1 asking for keep-alive (a connection is kept when the
/// reply does not say <c>Connection: close</c>; rspamd 3.4 closes each one), the envelope as headers
/// (<c>IP</c>, <c>Hostname</c>, <c>Helo</c>, <c>From</c>, one <c>Rcpt</c> per recipient, <c>Queue-Id</c>,
/// <c>User</c>) and the reply read with its Content-Length (a chunked reply is a protocol error), up to
/// <see cref="MaxReply"/> bytes.
/// </summary>
internal static class RspamdClient
{
    public const int MaxHead = 16 * 1024;
    public const int MaxReply = 1024 * 1024;

    public static async ValueTask<RspamdReply> CheckAsync(ScannerPool pool, RspamdEnvelope envelope, string? queueId, MessageChunks message, ScanDeadline deadline)
    {
        CancellationToken token = deadline.Token;
        ScannerConnection? connection = null;
        bool reusable = false;
        try
        {
            connection = await pool.RentAsync(token).ConfigureAwait(false);
            await connection.SendAsync(Request(pool.Address.HostHeader, envelope, queueId, message.Length), token).ConfigureAwait(false);
            await message.SendAsync(connection, token).ConfigureAwait(false);

            ReplyHead head = await ReplyHead.ReadAsync(connection, "rspamd", MaxHead, token).ConfigureAwait(false);
            if (!head.Status.StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                throw new ScanException(ScanErrorKind.Protocol, $"rspamd's reply is not HTTP: '{LogText.Escape(head.Status)}'");
            }

            int length = head.ContentLength(MaxReply)
                ?? throw new ScanException(ScanErrorKind.Protocol, $"rspamd's reply has no Content-Length ('{LogText.Escape(head.Status)}')");
            ReadOnlyMemory<byte> body = await ReplyHead.ReadBodyAsync(connection, "rspamd", length, token).ConfigureAwait(false);
            if (!head.Status.AsSpan(head.Status.IndexOf(' ', StringComparison.Ordinal) + 1).StartsWith("200 "))
            {
                throw new ScanException(ScanErrorKind.Scanner, $"rspamd: {LogText.Escape(head.Status)}: {LogText.Escape(body.Span)}");
            }

            RspamdReply reply = Parse(body.Span);
            connection.Consume(length);
            reusable = !string.Equals(head["Connection"], "close", StringComparison.OrdinalIgnoreCase);
            return reply;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw deadline.Expired("rspamd");
        }
        finally
        {
            if (connection is not null)
            {
                pool.Return(connection, reusable);
            }
        }
    }

    public static RspamdReply Parse(ReadOnlySpan<byte> json)
    {
        RspamdReply? reply;
        try
        {
            reply = JsonSerializer.Deserialize(json, RspamdJson.Default.RspamdReply);
        }
        catch (JsonException ex)
        {
            throw new ScanException(ScanErrorKind.Protocol, $"rspamd's reply is not its JSON: {ex.Message}", ex);
        }

        return reply is { Action: not null }
            ? reply
            : throw new ScanException(ScanErrorKind.Protocol, $"rspamd's reply names no action: '{LogText.Escape(json)}'");
    }

    private static byte[] Request(string host, RspamdEnvelope envelope, string? queueId, long length)
    {
        var request = new StringBuilder(256);
        request.Append("POST /checkv2 HTTP/1.1\r\nHost: ").Append(host).Append("\r\nConnection: keep-alive\r\nContent-Length: ").Append(length).Append("\r\n");
        Field(request, "IP", envelope.Ip);
        Field(request, "Hostname", envelope.Hostname);
        Field(request, "Helo", envelope.Helo);
        Field(request, "From", envelope.From);
        foreach (string recipient in envelope.Recipients)
        {
            Field(request, "Rcpt", recipient);
        }

        Field(request, "Queue-Id", queueId);
        Field(request, "User", envelope.User);
        request.Append("\r\n");
        return Encoding.UTF8.GetBytes(request.ToString());
    }

    /// <summary>A request header, its value without control characters (they come from the SMTP client).</summary>
    private static void Field(StringBuilder request, string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        request.Append(name).Append(": ");
        foreach (char c in value)
        {
            request.Append(char.IsControl(c) ? '?' : c);
        }

        request.Append("\r\n");
    }
}
