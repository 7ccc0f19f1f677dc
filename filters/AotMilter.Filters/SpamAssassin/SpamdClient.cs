using System.Globalization;
using System.Text;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.SpamAssassin;

/// <summary>
/// One <c>HEADERS SPAMC/1.5</c> request to spamd and its reply:
/// <code>
/// HEADERS SPAMC/1.5\r\n          SPAMD/1.1 0 EX_OK\r\n
/// Content-length: 1234\r\n       Content-length: 578\r\n
/// User: alice\r\n                Spam: True ; 1002.7 / 5.0\r\n
/// \r\n                           \r\n
/// (the message)                  (the header block SpamAssassin would write)
/// </code>
/// spamd answers one request per connection and closes it, so the pool gives each scan a new connection (and bounds
/// how many run at once).
/// </summary>
internal static class SpamdClient
{
    /// <summary>The largest reply head accepted (spamd's is a few short fields).</summary>
    public const int MaxHead = 8 * 1024;

    public static async ValueTask<SpamdResult> CheckAsync(ScannerPool pool, string? user, string envelope, MessageChunks message, ScanDeadline deadline)
    {
        CancellationToken token = deadline.Token;
        ScannerConnection connection;
        try
        {
            connection = await pool.RentAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw deadline.Expired("spamd");
        }

        try
        {
            // The envelope fields go first, as if they were the message's own (their text comes from the MTA).
            byte[] prefix = Encoding.UTF8.GetBytes(envelope);
            var request = new StringBuilder("HEADERS SPAMC/1.5\r\n");
            request.Append(CultureInfo.InvariantCulture, $"Content-length: {prefix.Length + message.Length}\r\n");
            if (!string.IsNullOrEmpty(user))
            {
                request.Append(CultureInfo.InvariantCulture, $"User: {user}\r\n");
            }

            request.Append("\r\n");
            await connection.SendAsync(Encoding.ASCII.GetBytes(request.ToString()), token).ConfigureAwait(false);
            await connection.SendAsync(prefix, token).ConfigureAwait(false);
            await message.SendAsync(connection, token).ConfigureAwait(false);
            connection.EndRequest();

            ReplyHead head = await ReplyHead.ReadAsync(connection, "spamd", MaxHead, token).ConfigureAwait(false);
            if (!head.Status.StartsWith("SPAMD/1.", StringComparison.Ordinal))
            {
                throw new ScanException(ScanErrorKind.Protocol, $"spamd's reply does not start with SPAMD/1.x: '{LogText.Escape(head.Status)}'");
            }

            if (!head.Status.AsSpan(head.Status.IndexOf(' ', StringComparison.Ordinal) + 1).StartsWith("0 "))
            {
                throw new ScanException(ScanErrorKind.Scanner, $"spamd: {LogText.Escape(head.Status)}");
            }

            // The header block is at most the message's own headers and SpamAssassin's few fields.
            int length = head.ContentLength((int)Math.Min(prefix.Length + message.Length + (64 * 1024), int.MaxValue)) ?? 0;
            ReadOnlyMemory<byte> body = await ReplyHead.ReadBodyAsync(connection, "spamd", length, token).ConfigureAwait(false);
            return SpamdResult.Parse(head, body.Span);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw deadline.Expired("spamd");
        }
        finally
        {
            pool.Return(connection, reusable: false);
        }
    }
}
