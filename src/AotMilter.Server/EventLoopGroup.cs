namespace AotMilter.Server;

/// <summary>
/// The process's I/O threads: one <see cref="EventLoop"/> per core by default, shared by every server in the
/// process (as the runtime shares its socket engine), started on first use.
/// </summary>
public static class EventLoopGroup
{
    private static readonly object s_gate = new();
    private static EventLoop[]? s_loops;
    private static int s_configured;
    private static int s_next;

    /// <summary>How many I/O threads run; set before the first server starts (0: one per core).</summary>
    /// <exception cref="InvalidOperationException">The loops are already running with another count.</exception>
    public static int ThreadCount
    {
        get => s_loops?.Length ?? (s_configured > 0 ? s_configured : Environment.ProcessorCount);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (s_gate)
            {
                if (s_loops is not null && value != 0 && value != s_loops.Length)
                {
                    throw new InvalidOperationException($"the I/O threads already run ({s_loops.Length})");
                }

                s_configured = value;
            }
        }
    }

    /// <summary>Where a failure that escaped a connection's own handling is reported (it never stops a loop).</summary>
    public static event Action<Exception>? UnhandledException;

    internal static EventLoop[] Loops
    {
        get
        {
            if (Volatile.Read(ref s_loops) is { } loops)
            {
                return loops;
            }

            lock (s_gate)
            {
                if (s_loops is null)
                {
                    int count = s_configured > 0 ? s_configured : Environment.ProcessorCount;
                    var created = new EventLoop[count];
                    for (int i = 0; i < count; i++)
                    {
                        created[i] = new EventLoop(i);
                    }

                    Volatile.Write(ref s_loops, created);
                }

                return s_loops;
            }
        }
    }

    /// <summary>The next loop in turn, for connections that do not arrive through a loop's own accept.</summary>
    internal static EventLoop Next()
    {
        EventLoop[] loops = Loops;
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    internal static void ReportUnhandled(Exception exception)
    {
        try
        {
            if (UnhandledException is { } handler)
            {
                handler(exception);
                return;
            }
        }
        catch (Exception)
        {
            // The reporter itself failed (a full disk under the log): standard error is the last resort.
        }

        try
        {
            Console.Error.WriteLine($"aotmilter: unhandled error: {exception}");
        }
        catch (IOException)
        {
            // Nowhere left to say it; the process goes on.
        }
    }
}
