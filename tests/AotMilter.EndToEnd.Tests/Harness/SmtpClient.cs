using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A minimal SMTP client: EHLO, MAIL FROM, RCPT TO, DATA (with dot-stuffing), QUIT, each returning the server's reply.
/// Talks over a TCP connection or over any pair of streams (e.g. the stdin/stdout of <c>sendmail -bs</c>). Every
/// reply is awaited with <see cref="Timeout"/>; the whole conversation is kept in <see cref="Transcript"/>.
/// </summary>
public sealed class SmtpClient : IAsyncDisposable
{
    private readonly LineReader _reader;
    private readonly Stream _output;
    private readonly IAsyncDisposable? _owner;
    private readonly List<string> _transcript = [];

    public SmtpClient(Stream input, Stream output, IAsyncDisposable? owner = null)
    {
        _reader = new LineReader(input);
        _output = output;
        _owner = owner;
    }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    public string Transcript
    {
        get
        {
            lock (_transcript)
            {
                return string.Join('\n', _transcript);
            }
        }
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and reads the greeting.</summary>
    public static async Task<(SmtpClient Client, SmtpReply Greeting)> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var stream = tcp.GetStream();
        var client = new SmtpClient(stream, stream, new TcpOwner(tcp));
        return (client, await client.ReadReplyAsync());
    }

    /// <summary>
    /// Starts a program that speaks SMTP on its stdin/stdout (e.g. <c>sendmail -bs</c>) and reads the greeting; the
    /// program's stderr lines go to <paramref name="log"/>. Disposing the client ends the program.
    /// </summary>
    public static async Task<(SmtpClient Client, SmtpReply Greeting)> StartProcessAsync(
        string fileName, IEnumerable<string> arguments, Action<string> log)
    {
        var connection = ProcessConnection.Start(fileName, arguments, log);
        var client = new SmtpClient(connection.Input, connection.Output, connection);
        try
        {
            return (client, await client.ReadReplyAsync());
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task<SmtpReply> ReadReplyAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var lines = new List<string>();
        var code = 0;
        try
        {
            while (true)
            {
                var line = await _reader.ReadTextLineAsync(cts.Token).WaitAsync(cts.Token)
                    ?? throw new IOException(
                        $"the server closed the connection{(lines.Count > 0 ? " in the middle of a reply" : "")}.\n{Transcript}");
                Record("S: " + line);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out code))
                {
                    throw new InvalidDataException($"not an SMTP reply line: '{line}'.\n{Transcript}");
                }

                lines.Add(line.Length > 4 ? line[4..] : "");
                if (line.Length == 3 || line[3] == ' ')
                {
                    return new SmtpReply(code, lines);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no SMTP reply within {Timeout.TotalSeconds:0}s.\n{Transcript}");
        }
    }

    /// <summary>Sends one command line and reads the reply.</summary>
    public async Task<SmtpReply> CommandAsync(string command)
    {
        Record("C: " + command);
        await WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"));
        return await ReadReplyAsync();
    }

    public Task<SmtpReply> EhloAsync(string name = "client.aotmilter.test") => CommandAsync($"EHLO {name}");

    public Task<SmtpReply> MailFromAsync(string address, string parameters = "") =>
        CommandAsync($"MAIL FROM:<{address}>{(parameters.Length > 0 ? " " + parameters : "")}");

    /// <summary>RCPT TO; <paramref name="recipient"/> is an address, optionally followed by a space and ESMTP parameters.</summary>
    public Task<SmtpReply> RcptToAsync(string recipient)
    {
        var (address, parameters) = SplitParameters(recipient);
        return CommandAsync($"RCPT TO:<{address}>{(parameters.Length > 0 ? " " + parameters : "")}");
    }

    /// <summary>Splits "address PARAM=1 PARAM=2" into the address and the parameters.</summary>
    public static (string Address, string Parameters) SplitParameters(string text) =>
        text.IndexOf(' ') is > 0 and var space ? (text[..space], text[(space + 1)..]) : (text, "");

    /// <summary>
    /// DATA: returns the reply to DATA itself if it is not 354; otherwise sends <paramref name="message"/>
    /// (dot-stuffed, CRLF added at the end if missing) and the terminating dot, and returns the final reply.
    /// </summary>
    public async Task<SmtpReply> DataAsync(byte[] message)
    {
        var go = await CommandAsync("DATA");
        if (go.Code != 354)
        {
            return go;
        }

        Record($"C: ({message.Length} bytes of message)");
        await WriteAsync(DotStuff(message));
        Record("C: .");
        return await ReadReplyAsync();
    }

    public Task<SmtpReply> QuitAsync() => CommandAsync("QUIT");

    /// <summary>
    /// A whole transaction: EHLO, MAIL FROM, one RCPT TO per recipient and, if any recipient was accepted, DATA.
    /// Stops at the first failing step before RCPT. Does not QUIT. <paramref name="from"/> and each recipient may be
    /// followed by a space and ESMTP parameters ("a@example.org RET=HDRS").
    /// </summary>
    public async Task<SmtpTransaction> SendAsync(string from, IEnumerable<string> recipients, byte[] message, string helo = "client.aotmilter.test")
    {
        var result = new SmtpTransaction { Ehlo = await EhloAsync(helo) };
        if (!result.Ehlo.IsPositive)
        {
            return result;
        }

        var (sender, parameters) = SplitParameters(from);
        result.MailFrom = await MailFromAsync(sender, parameters);
        if (!result.MailFrom.IsPositive)
        {
            return result;
        }

        foreach (var recipient in recipients)
        {
            result.Recipients.Add((recipient, await RcptToAsync(recipient)));
        }

        if (result.Recipients.Any(r => r.Reply.IsPositive))
        {
            result.Data = await DataAsync(message);
        }

        return result;
    }

    public static byte[] DotStuff(byte[] message)
    {
        using var stuffed = new MemoryStream(message.Length + 64);
        var atLineStart = true;
        foreach (var b in message)
        {
            if (atLineStart && b == (byte)'.')
            {
                stuffed.WriteByte((byte)'.');
            }

            stuffed.WriteByte(b);
            atLineStart = b == (byte)'\n';
        }

        if (!atLineStart)
        {
            stuffed.Write("\r\n"u8);
        }

        stuffed.Write(".\r\n"u8);
        return stuffed.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_owner is not null)
        {
            await _owner.DisposeAsync();
        }
    }

    private async Task WriteAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await _output.WriteAsync(bytes, cts.Token).AsTask().WaitAsync(cts.Token);
            await _output.FlushAsync(cts.Token).WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"could not send {bytes.Length} bytes within {Timeout.TotalSeconds:0}s.\n{Transcript}");
        }
    }

    private void Record(string line)
    {
        lock (_transcript)
        {
            _transcript.Add(line);
        }
    }

    private sealed class TcpOwner(TcpClient tcp) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The replies of one <see cref="SmtpClient.SendAsync"/> transaction.</summary>
public sealed class SmtpTransaction
{
    public required SmtpReply Ehlo { get; init; }

    public SmtpReply? MailFrom { get; set; }

    public List<(string Address, SmtpReply Reply)> Recipients { get; } = [];

    /// <summary>The final reply to DATA (or the reply to the DATA command if it was not 354); null if DATA was not sent.</summary>
    public SmtpReply? Data { get; set; }

    public SmtpReply RecipientReply(string address) => Recipients.Single(r => r.Address == address).Reply;

    /// <summary>True if MAIL, at least one RCPT and DATA were all accepted.</summary>
    public bool Accepted => MailFrom?.IsPositive == true && Data?.IsPositive == true;

    /// <summary>The first reply that was not positive, if any.</summary>
    public SmtpReply? FirstFailure =>
        new[] { Ehlo, MailFrom }.Concat(Recipients.Select(r => r.Reply)).Append(Data)
            .FirstOrDefault(reply => reply is not null && !reply.IsPositive);
}
