namespace AotMilter.Server;

/// <summary>
/// The one policy for code that starts on a thread whose stack the daemon does not own (signal handlers, timers,
/// continuations of its own tasks): an exception that escapes there would end the process, so it is reported
/// (<see cref="EventLoopGroup.UnhandledException"/>, or standard error) and the process goes on. The event loops
/// apply the same policy to every handler they call.
/// </summary>
public static class Guard
{
    public static void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            action();
        }
        catch (Exception ex)
        {
            EventLoopGroup.ReportUnhandled(ex);
        }
    }
}
