using System.Diagnostics;
using AotMilter.Hosting;

namespace AotMilter.Filters.Redis;

/// <summary>
/// What the stores need from Redis, and nothing more: connect (TCP or unix socket), AUTH, SELECT, SCRIPT LOAD and
/// EVALSHA (loading the script again when the server answers NOSCRIPT), over pipelined connections: one per I/O thread
/// that calls (<see cref="IoThread"/>), read by that thread, so that a reply resumes its milter callback where it
/// waits, and one for every other caller, read by a thread of its own. A broken connection is replaced by the next
/// call; while the server refuses connections, calls fail at once for <see cref="ReconnectDelay"/> after each failed
/// attempt instead of each trying again. Every call has a deadline.
/// </summary>
public sealed class RedisClient
{
    /// <summary>How long after a failed connection attempt the next one is made (calls fail at once meanwhile).</summary>
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long a connection attempt with its AUTH, SELECT and SCRIPT LOAD may take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private static readonly Lock SharedGate = new();
    private static readonly Dictionary<RedisEndpoint, RedisClient> SharedClients = [];

    [ThreadStatic]
    private static RespWriter? t_writer;

    // Each I/O thread's connections, by client: read and written by that thread alone, so the lookup takes no lock.
    [ThreadStatic]
    private static Dictionary<RedisClient, ConnectionSlot>? t_slots;

    private readonly Lock _gate = new();
    private readonly List<RedisScript> _scripts = [];
    private readonly ConnectionSlot _offIoThreads = new(null);
    private long _retryAt;
    private string _lastError = "";

    public RedisClient(RedisEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
    }

    public RedisEndpoint Endpoint { get; }

    /// <summary>
    /// One client per server for the whole process: filters that name the same server share its connection, and a
    /// configuration reload keeps it.
    /// </summary>
    public static RedisClient Shared(RedisEndpoint endpoint)
    {
        lock (SharedGate)
        {
            if (!SharedClients.TryGetValue(endpoint, out RedisClient? client))
            {
                client = new RedisClient(endpoint);
                SharedClients[endpoint] = client;
            }

            return client;
        }
    }

    /// <summary>Loads <paramref name="script"/> with every new connection from now on.</summary>
    public void Register(RedisScript script)
    {
        ArgumentNullException.ThrowIfNull(script);
        lock (_gate)
        {
            if (!_scripts.Contains(script))
            {
                _scripts.Add(script);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="script"/> with its keys and arguments: one EVALSHA, one round trip. Throws
    /// <see cref="RedisException"/> when Redis cannot answer within <paramref name="deadline"/> (counted from this
    /// call, connecting included) or answers an error; <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public async Task<RedisReply> EvalAsync(
        RedisScript script, IReadOnlyList<string> keys, IReadOnlyList<long> arguments, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(arguments);
        long start = Stopwatch.GetTimestamp();
        RedisConnection connection = Connected() ?? await WaitAsync(ConnectionAsync(), start, deadline, cancellationToken).ConfigureAwait(false);
        string sha = script.Sha1 ?? await LoadAsync(connection, script, Left(start, deadline), cancellationToken).ConfigureAwait(false);
        RedisReply reply = await connection.Send(EvalSha(sha, keys, arguments), Left(start, deadline), cancellationToken).ConfigureAwait(false);
        if (reply.IsError && reply.Text!.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            sha = await LoadAsync(connection, script, Left(start, deadline), cancellationToken).ConfigureAwait(false);
            reply = await connection.Send(EvalSha(sha, keys, arguments), Left(start, deadline), cancellationToken).ConfigureAwait(false);
        }

        return reply.IsError ? throw new RedisException($"{script.Name} on {Endpoint}: {reply.Text}") { Reason = "reply" } : reply;
    }

    private static ReadOnlySpan<byte> EvalSha(string sha, IReadOnlyList<string> keys, IReadOnlyList<long> arguments)
    {
        RespWriter w = Writer();
        w.Command(3 + keys.Count + arguments.Count).Argument("EVALSHA").Argument(sha).Argument(keys.Count);
        foreach (string key in keys)
        {
            w.Argument(key);
        }

        foreach (long argument in arguments)
        {
            w.Argument(argument);
        }

        return w.Written;
    }

    // The bytes are copied into the connection's buffer by Send, before anything else can use this thread's writer.
    private static RespWriter Writer()
    {
        RespWriter w = t_writer ??= new RespWriter();
        w.Clear();
        return w;
    }

    private static TimeSpan Left(long start, TimeSpan deadline)
    {
        TimeSpan left = deadline - Stopwatch.GetElapsedTime(start);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Waits for a connection being made, within what is left of the call's deadline.</summary>
    private static async Task<RedisConnection> WaitAsync(Task<RedisConnection> connecting, long start, TimeSpan deadline, CancellationToken cancellationToken)
    {
        try
        {
            return await connecting.WaitAsync(Left(start, deadline), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RedisException($"no connection within {deadline.TotalMilliseconds:0} ms") { Reason = "timeout" };
        }
    }

    private static async Task<string> LoadAsync(RedisConnection connection, RedisScript script, TimeSpan deadline, CancellationToken cancellationToken)
    {
        RedisReply reply = await connection.Send(ScriptLoad(script), deadline, cancellationToken).ConfigureAwait(false);
        return script.Sha1 = ScriptHash(script, reply);
    }

    private RedisConnection? Connected()
    {
        RedisConnection? connection = Volatile.Read(ref Slot().Connection);
        return connection is { IsOpen: true } ? connection : null;
    }

    /// <summary>The calling thread's connection: its I/O thread's, or the one for callers off the I/O threads.</summary>
    private ConnectionSlot Slot()
    {
        if (IoThread.Current is not { } io)
        {
            return _offIoThreads;
        }

        Dictionary<RedisClient, ConnectionSlot> slots = t_slots ??= new(ReferenceEqualityComparer.Instance);
        if (!slots.TryGetValue(this, out ConnectionSlot? slot))
        {
            slot = new ConnectionSlot(io);
            slots[this] = slot;
        }

        return slot;
    }

    private static ReadOnlySpan<byte> ScriptLoad(RedisScript script) =>
        Writer().Command(3).Argument("SCRIPT").Argument("LOAD").Argument(script.Source).Written;

    private static string ScriptHash(RedisScript script, RedisReply reply) =>
        reply.Kind == RedisReplyKind.BulkString && reply.Text is { Length: 40 } sha
            ? sha
            : throw new RedisException($"SCRIPT LOAD of {script.Name} answered {reply}") { Reason = "reply" };

    private Task<RedisConnection> ConnectionAsync()
    {
        ConnectionSlot slot = Slot();
        lock (_gate)
        {
            if (slot.Connection is { IsOpen: true } open)
            {
                return Task.FromResult(open);
            }

            if (slot.Connecting is null)
            {
                TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _retryAt);
                if (wait > TimeSpan.Zero)
                {
                    return Task.FromException<RedisConnection>(new RedisException(
                        $"{Endpoint} is unavailable ({_lastError}); next attempt in {wait.TotalMilliseconds:0} ms"));
                }

                // On the thread pool: a connect that fails before its first await must not re-enter this lock.
                slot.Connecting = Task.Run(() => ConnectAsync(slot));
            }

            return slot.Connecting;
        }
    }

    private async Task<RedisConnection> ConnectAsync(ConnectionSlot slot)
    {
        RedisConnection? connection = null;
        try
        {
            using var timeout = new CancellationTokenSource(ConnectTimeout);
            connection = await RedisConnection.ConnectAsync(Endpoint, ConnectTimeout, slot.Io).ConfigureAwait(false);
            RedisScript[] scripts;
            lock (_gate)
            {
                scripts = [.. _scripts];
            }

            // Pipelined: one round trip for the whole handshake.
            var steps = new List<(string What, Task<RedisReply> Reply)>();
            if (Endpoint.Password is string password)
            {
                RespWriter auth = Writer().Command(Endpoint.User is null ? 2 : 3).Argument("AUTH");
                if (Endpoint.User is string user)
                {
                    auth.Argument(user);
                }

                steps.Add(("AUTH", connection.Send(auth.Argument(password).Written, ConnectTimeout, timeout.Token)));
            }

            if (Endpoint.Database != 0)
            {
                steps.Add(($"SELECT {Endpoint.Database}", connection.Send(Writer().Command(2).Argument("SELECT").Argument(Endpoint.Database).Written, ConnectTimeout, timeout.Token)));
            }

            steps.AddRange(scripts.Select(s => ($"SCRIPT LOAD {s.Name}", connection.Send(ScriptLoad(s), ConnectTimeout, timeout.Token))));
            for (int i = 0; i < steps.Count; i++)
            {
                RedisReply reply = await steps[i].Reply.ConfigureAwait(false);
                if (reply.IsError)
                {
                    throw new RedisException($"{steps[i].What}: {reply.Text}") { Reason = "reply" };
                }

                int script = i - (steps.Count - scripts.Length);
                if (script >= 0)
                {
                    scripts[script].Sha1 = ScriptHash(scripts[script], reply);
                }
            }

            lock (_gate)
            {
                Volatile.Write(ref slot.Connection, connection);
                slot.Connecting = null;
            }

            return connection;
        }
        catch (Exception ex)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            string reason = ex is OperationCanceledException ? $"no connection within {ConnectTimeout.TotalSeconds:0} s" : ex.Message;
            lock (_gate)
            {
                slot.Connecting = null;
                _retryAt = Stopwatch.GetTimestamp() + (long)(ReconnectDelay.TotalSeconds * Stopwatch.Frequency);
                _lastError = reason;
            }

            throw ex as RedisException ?? new RedisException($"cannot connect to {Endpoint}: {reason}", ex);
        }
    }

    /// <summary>One connection of this client and the attempt that makes it, for one I/O thread or for the others.</summary>
    private sealed class ConnectionSlot(IoThread? io)
    {
        // Null: read by a reader thread of the connection's own.
        public readonly IoThread? Io = io;
        public RedisConnection? Connection;
        public Task<RedisConnection>? Connecting;
    }
}
