namespace AotMilter.Server;

/// <summary>
/// The one policy for code that starts on a thread whose stack the daemon does not own (signal handlers, timers,
/// continuations of its own tasks): an exception that escapes there would end the process, so it is reported
/// (<see cref="UnhandledException"/>, or standard error) and the process goes on. The event loops apply the same
/// policy to every handler they call. Process-wide on purpose, like AppDomain.UnhandledException: such a failure
/// belongs to no server in particular.
/// </summary>
public static class Guard
{
    /// <summary>Where a failure that escaped its own handling is reported (it never stops a loop or the process).</summary>
    public static event Action<Exception>? UnhandledException;

    public static void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Report(ex);
        }
    }

    internal static void Report(Exception exception)
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
