using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A minimal SMTP server on 127.0.0.1 that accepts every transaction and keeps the message bytes exactly as relayed.
/// It is the MTAs' relay host, standing in for the Internet. It advertises 8BITMIME (so that MTAs do not convert 8-bit
/// bodies) and DSN (so that they relay the envelope's DSN parameters, NOTIFY, ORCPT, RET and ENVID, which milters can
/// set) and nothing else; commands are answered one by one in order.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private const int MaxTranscriptLines = 2000;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<SinkMessage> _messages = [];
    private readonly List<string> _transcript = [];
    private readonly List<Task> _sessions = [];
    private readonly Task _acceptLoop;
    private int _sessionCount;

    private SmtpSink(TcpListener listener)
    {
        _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public int Count
    {
        get
        {
            lock (_messages)
            {
                return _messages.Count;
            }
        }
    }

    public IReadOnlyList<SinkMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>SMTP commands and replies of all sessions (message contents left out).</summary>
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

    public static SmtpSink Start(int port = 0)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        return new SmtpSink(listener);
    }

    /// <summary>Waits until a message matching <paramref name="predicate"/> has arrived.</summary>
    public async Task<SinkMessage?> WaitForAsync(Func<SinkMessage, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var match = Messages.FirstOrDefault(predicate);
            if (match is not null || DateTime.UtcNow >= deadline)
            {
                return match;
            }

            await Task.Delay(50);
        }
    }

    public string Describe() =>
        $"--- sink 127.0.0.1:{Port}: {Count} message(s) ---\n{string.Join('\n', Messages)}\n--- sink transcript ---\n{Transcript}";

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] all;
        lock (_sessions)
        {
            all = [_acceptLoop, .. _sessions];
        }

        await Task.WhenAny(Task.WhenAll(all), Task.Delay(TimeSpan.FromSeconds(5)));
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var id = Interlocked.Increment(ref _sessionCount);
            lock (_sessions)
            {
                _sessions.RemoveAll(t => t.IsCompleted);
                _sessions.Add(Task.Run(() => ServeAsync(client, id)));
            }
        }
    }

    private async Task ServeAsync(TcpClient client, int id)
    {
        using var _ = client;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var stream = client.GetStream();
        var reader = new LineReader(stream);
        string helo = "";
        string? mailFrom = null;
        var recipients = new List<string>();

        async Task ReplyAsync(string reply)
        {
            Log(id, "S: " + reply.Replace("\r\n", "\n    "));
            await stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), idle.Token);
        }

        try
        {
            await ReplyAsync("220 sink.test ESMTP aotmilter test sink");
            while (true)
            {
                idle.CancelAfter(IdleTimeout);
                var line = await reader.ReadTextLineAsync(idle.Token);
                if (line is null)
                {
                    Log(id, "(client closed the connection)");
                    return;
                }

                Log(id, "C: " + line);
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                var argument = line.Length > verb.Length ? line[(verb.Length + 1)..] : "";
                switch (verb)
                {
                    case "EHLO":
                        helo = argument;
                        mailFrom = null;
                        recipients.Clear();
                        await ReplyAsync("250-sink.test\r\n250-8BITMIME\r\n250-DSN\r\n250 SIZE 209715200");
                        break;
                    case "HELO":
                        helo = argument;
                        mailFrom = null;
                        recipients.Clear();
                        await ReplyAsync("250 sink.test");
                        break;
                    case "MAIL":
                        mailFrom = StripPrefix(argument, "FROM:");
                        recipients.Clear();
                        await ReplyAsync("250 2.1.0 Ok");
                        break;
                    case "RCPT" when mailFrom is null:
                        await ReplyAsync("503 5.5.1 Error: need MAIL command");
                        break;
                    case "RCPT":
                        recipients.Add(StripPrefix(argument, "TO:"));
                        await ReplyAsync("250 2.1.5 Ok");
                        break;
                    case "DATA" when mailFrom is null || recipients.Count == 0:
                        await ReplyAsync("503 5.5.1 Error: need RCPT command");
                        break;
                    case "DATA":
                        await ReplyAsync("354 End data with <CR><LF>.<CR><LF>");
                        var data = await ReadDataAsync(reader, idle.Token);
                        if (data is null)
                        {
                            Log(id, "(connection closed during DATA)");
                            return;
                        }

                        int sequence;
                        lock (_messages)
                        {
                            sequence = _messages.Count + 1;
                            _messages.Add(new SinkMessage(sequence, helo, mailFrom, [.. recipients], data));
                        }

                        Log(id, $"(message #{sequence}: {data.Length} bytes)");
                        mailFrom = null;
                        recipients.Clear();
                        await ReplyAsync($"250 2.0.0 Ok: queued as sink-{sequence}");
                        break;
                    case "RSET":
                        mailFrom = null;
                        recipients.Clear();
                        await ReplyAsync("250 2.0.0 Ok");
                        break;
                    case "NOOP":
                        await ReplyAsync("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        await ReplyAsync("221 2.0.0 Bye");
                        return;
                    default:
                        await ReplyAsync("502 5.5.2 Error: command not recognized");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Log(id, $"(session ended: {e.GetType().Name}: {e.Message})");
        }
    }

    /// <summary>Reads the DATA lines up to the lone dot and undoes dot-stuffing; null if the connection closes first.</summary>
    private static async Task<byte[]?> ReadDataAsync(LineReader reader, CancellationToken cancellationToken)
    {
        using var data = new MemoryStream();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            if (line is [(byte)'.', (byte)'\r', (byte)'\n'] or [(byte)'.', (byte)'\n'])
            {
                return data.ToArray();
            }

            var skip = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0;
            data.Write(line, skip, line.Length - skip);
        }
    }

    private static string StripPrefix(string argument, string prefix) =>
        argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? argument[prefix.Length..].Trim() : argument;

    private void Log(int session, string line)
    {
        lock (_transcript)
        {
            if (_transcript.Count < MaxTranscriptLines)
            {
                _transcript.Add($"[{session}] {line}");
            }
        }
    }
}
