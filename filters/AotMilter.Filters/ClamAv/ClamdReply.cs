using System.Globalization;
using System.Text;
using AotMilter.Filters.Scanning;

namespace AotMilter.Filters.ClamAv;

/// <summary>What clamd said about one stream: clean, or the name of what it found.</summary>
public readonly record struct ClamdVerdict(string? Virus)
{
    public bool IsClean => Virus is null;
}

/// <summary>
/// clamd's reply to <c>INSTREAM</c> inside an <c>IDSESSION</c>, NUL-terminated (the <c>z</c> command prefix):
/// <code>
/// 1: stream: OK\0
/// 1: stream: Eicar-Test-Signature FOUND\0
/// 1: INSTREAM size limit exceeded. ERROR\0
/// </code>
/// The number is the request's within the session. Anything else is a protocol error; an ERROR reply is the
/// scanner's own error.
/// </summary>
public static class ClamdReply
{
    /// <summary>The longest reply accepted (a virus name is short; clamd's own limit on a reply line is 1 KiB).</summary>
    public const int MaxReply = 4096;

    /// <summary>Reads one reply from <paramref name="connection"/>.</summary>
    public static async ValueTask<ClamdVerdict> ReadAsync(ScannerConnection connection, int request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        int end;
        while ((end = connection.Buffered.IndexOf((byte)0)) < 0)
        {
            if (!await connection.FillAsync(MaxReply, cancellationToken).ConfigureAwait(false))
            {
                throw new ScanException(ScanErrorKind.Closed, connection.Buffered.IsEmpty
                    ? "clamd closed the connection without a reply"
                    : $"clamd closed the connection in the middle of its reply ('{LogText.Escape(connection.Buffered)}')");
            }
        }

        ClamdVerdict verdict = Parse(connection.Buffered[..end], request);
        connection.Consume(end + 1);
        return verdict;
    }

    /// <summary>Parses one reply without its NUL.</summary>
    public static ClamdVerdict Parse(ReadOnlySpan<byte> reply, int request)
    {
        string text = Encoding.UTF8.GetString(reply);
        string prefix = request.ToString(CultureInfo.InvariantCulture) + ": ";
        if (!text.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new ScanException(ScanErrorKind.Protocol, $"clamd's reply is not numbered {request}: '{LogText.Escape(text)}'");
        }

        text = text[prefix.Length..];
        if (text == "stream: OK")
        {
            return new ClamdVerdict(null);
        }

        if (text.StartsWith("stream: ", StringComparison.Ordinal) && text.EndsWith(" FOUND", StringComparison.Ordinal) && text.Length > "stream:  FOUND".Length)
        {
            return new ClamdVerdict(text["stream: ".Length..^" FOUND".Length]);
        }

        if (text.EndsWith(" ERROR", StringComparison.Ordinal))
        {
            throw new ScanException(ScanErrorKind.Scanner, $"clamd: {LogText.Escape(text)}");
        }

        throw new ScanException(ScanErrorKind.Protocol, $"clamd's reply is not one of OK, FOUND or ERROR: '{LogText.Escape(text)}'");
    }
}
