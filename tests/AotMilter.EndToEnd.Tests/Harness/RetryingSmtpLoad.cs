using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// Sends messages the way a sending MTA does: several concurrent SMTP sessions, each taking the next message and
/// keeping it until the server accepts it. A 4xx reply (greeting, EHLO, MAIL, RCPT, DATA or end of data) or a lost
/// connection ends the session, and the message is tried again on a new one after a pause: a new session, because
/// Postfix keeps answering 4xx for the rest of a session whose milter failed. A 5xx gives the message up. Every
/// attempt is recorded with its time on <see cref="Elapsed"/>'s clock, so a test can tell which failures followed which
/// of its own actions.
/// </summary>
public sealed class RetryingSmtpLoad(int port, int sessions)
{
    public const string Sender = "sender@example.org";

    public const string Recipient = "rcpt@example.com";

    private const int MaxKeptTranscripts = 3;

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    // Short enough that a hung reply fails within the test's deadline, long enough for a busy 2-core machine.
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(20);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private readonly ConcurrentQueue<string> _transcripts = new();
    private int _accepted;
    private int _sessionsOpened;

    public enum Outcome
    {
        Accepted,
        TransientFailure,
        ConnectionLost,
        PermanentFailure,
    }

    /// <summary>One try of one message: when, how far it got (greeting, EHLO, MAIL, RCPT, DATA) and the reply or error.</summary>
    public sealed record Attempt(TimeSpan At, TestMessage Message, Outcome Outcome, string Stage, string Detail)
    {
        public override string ToString() => $"{At.TotalSeconds:0.000}s {Message.Token} {Outcome} at {Stage}: {Detail}";
    }

    /// <summary>Time since this load was created.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    public int AcceptedCount => Volatile.Read(ref _accepted);

    public int SessionsOpened => Volatile.Read(ref _sessionsOpened);

    public IReadOnlyList<Attempt> Attempts => [.. _attempts];

    public int Count(Outcome outcome) => _attempts.Count(a => a.Outcome == outcome);

    /// <summary>The counts, for assertion messages.</summary>
    public string Summary =>
        $"{AcceptedCount} accepted in {_attempts.Count} attempts over {SessionsOpened} sessions: "
        + $"{Count(Outcome.TransientFailure)} 4xx, {Count(Outcome.ConnectionLost)} lost connections, "
        + $"{Count(Outcome.PermanentFailure)} 5xx";

    /// <summary>Every attempt that was not accepted, and the transcripts of the first sessions lost or refused with 5xx.</summary>
    public string Describe() =>
        $"--- SMTP load: {Summary} ---\n"
        + string.Join('\n', _attempts.Where(a => a.Outcome != Outcome.Accepted))
        + $"\n--- transcripts ---\n{string.Join("\n--\n", _transcripts)}";

    /// <summary>
    /// Sends every message, each until it is accepted or refused with 5xx; returns when all are done or, early, when
    /// <paramref name="stop"/> is cancelled (messages not accepted by then are simply not counted).
    /// </summary>
    public Task RunAsync(IReadOnlyList<TestMessage> messages, CancellationToken stop)
    {
        var pending = new ConcurrentQueue<TestMessage>(messages);
        return Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(() => WorkerAsync(pending, stop))));
    }

    private async Task WorkerAsync(ConcurrentQueue<TestMessage> pending, CancellationToken stop)
    {
        SmtpClient? session = null;
        try
        {
            while (pending.TryDequeue(out var message))
            {
                while (true)
                {
                    stop.ThrowIfCancellationRequested();
                    (session, var outcome) = await TryOnceAsync(session, message);
                    if (outcome is Outcome.Accepted or Outcome.PermanentFailure)
                    {
                        break;
                    }

                    await Task.Delay(RetryPause, stop);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped: the caller sees the shortfall in the counts.
        }
        finally
        {
            await CloseAsync(session, Outcome.Accepted);
        }
    }

    /// <summary>One try on the open session or a new one; the session comes back only if it can take the next message.</summary>
    private async Task<(SmtpClient? Session, Outcome Outcome)> TryOnceAsync(SmtpClient? session, TestMessage message)
    {
        if (session is null)
        {
            (session, var opened) = await OpenAsync(message);
            if (session is null)
            {
                return (null, opened);
            }
        }

        var outcome = await SendAsync(session, message);
        if (outcome == Outcome.Accepted)
        {
            return (session, outcome);
        }

        await CloseAsync(session, outcome);
        return (null, outcome);
    }

    /// <summary>Connects and says EHLO; no session (with the attempt recorded) if that fails.</summary>
    private async Task<(SmtpClient? Session, Outcome Outcome)> OpenAsync(TestMessage message)
    {
        SmtpClient? client = null;
        try
        {
            (client, var greeting) = await SmtpClient.ConnectAsync(port);
            client.Timeout = ReplyTimeout;
            Interlocked.Increment(ref _sessionsOpened);
            var outcome = Record(message, "greeting", greeting);
            if (outcome == Outcome.Accepted)
            {
                outcome = Record(message, "EHLO", await client.EhloAsync());
            }

            if (outcome == Outcome.Accepted)
            {
                return (client, outcome);
            }

            await CloseAsync(client, outcome);
            return (null, outcome);
        }
        catch (Exception e) when (IsConnectionError(e))
        {
            Lost(message, "connect", e);
            await CloseAsync(client, Outcome.ConnectionLost);
            return (null, Outcome.ConnectionLost);
        }
    }

    private async Task<Outcome> SendAsync(SmtpClient session, TestMessage message)
    {
        try
        {
            var outcome = Record(message, "MAIL", await session.MailFromAsync(Sender));
            if (outcome == Outcome.Accepted)
            {
                outcome = Record(message, "RCPT", await session.RcptToAsync(Recipient));
            }

            if (outcome == Outcome.Accepted)
            {
                outcome = Record(message, "DATA", await session.DataAsync(message.Bytes), final: true);
            }

            return outcome;
        }
        catch (Exception e) when (IsConnectionError(e))
        {
            Lost(message, "transaction", e);
            return Outcome.ConnectionLost;
        }
    }

    /// <summary>
    /// Classifies a reply; records it unless it is an intermediate success. Only a 2xx to the end of the data is an
    /// acceptance; anything else there that is not a 4xx counts as a refusal.
    /// </summary>
    private Outcome Record(TestMessage message, string stage, SmtpReply reply, bool final = false)
    {
        var outcome = reply.IsTransientFailure ? Outcome.TransientFailure
            : reply.Code is >= 200 and < 300 || reply.IsPositive && !final ? Outcome.Accepted
            : Outcome.PermanentFailure;
        if (outcome != Outcome.Accepted || final)
        {
            _attempts.Enqueue(new Attempt(Elapsed, message, outcome, stage, reply.ToString()));
        }

        if (outcome == Outcome.Accepted && final)
        {
            Interlocked.Increment(ref _accepted);
        }

        return outcome;
    }

    private void Lost(TestMessage message, string stage, Exception e) =>
        _attempts.Enqueue(new Attempt(Elapsed, message, Outcome.ConnectionLost, stage, $"{e.GetType().Name}: {FirstLine(e.Message)}"));

    private async Task CloseAsync(SmtpClient? client, Outcome outcome)
    {
        if (client is null)
        {
            return;
        }

        await using (client)
        {
            if (outcome is Outcome.ConnectionLost or Outcome.PermanentFailure && _transcripts.Count < MaxKeptTranscripts)
            {
                _transcripts.Enqueue(client.Transcript);
            }

            if (outcome != Outcome.ConnectionLost)
            {
                try
                {
                    await client.QuitAsync();
                }
                catch (Exception e) when (IsConnectionError(e))
                {
                    // Only politeness: the server may already have closed the session.
                }
            }
        }
    }

    private static bool IsConnectionError(Exception e) =>
        e is IOException or SocketException or TimeoutException or InvalidDataException or OperationCanceledException;

    private static string FirstLine(string text) => text.Split('\n', 2)[0];
}
