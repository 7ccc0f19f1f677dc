using AotMilter.Server;

namespace AotMilter.Hosting;

/// <summary>
/// The daemon as a library: an executable's <c>Main</c> hands it the command line and the filters compiled into the
/// binary (the generated <c>AotMilter.Generated.LinkedFilters.All</c>), and gets the whole <c>aotmilter</c> command
/// line — <c>-p</c>, <c>-f</c>, <c>-c</c>, <c>-D</c>, <c>--print-config</c>, <c>--check-config</c>, signals,
/// systemd notification, metrics, and the <c>test</c> and <c>bench</c> tools — for its own filters.
/// </summary>
/// <example>
/// <code>
/// return await MilterHost.RunAsync(args, AotMilter.Generated.LinkedFilters.All);
/// </code>
/// </example>
public static class MilterHost
{
    /// <summary>Runs the command line on the calling thread until the daemon stops; returns the process's exit code.</summary>
    public static int Run(string[] args, IReadOnlyList<MilterRegistration> filters, MilterHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(filters);
        options ??= new MilterHostOptions();
        ProgramName.Value = options.Name ?? ProgramName.FromEntryAssembly();
        if (!OperatingSystem.IsLinux())
        {
            // The event loop is epoll, the privileges and pid file are Linux system calls: say so instead of failing
            // on the first of them.
            Console.Error.WriteLine($"{ProgramName.Value}: runs on Linux only (this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription})");
            return 1;
        }

        return CommandLine.Run(args, filters, options);
    }

    /// <summary>
    /// Runs the command line on a thread of its own, for a <c>Main</c> that is <c>async</c>; the task completes with
    /// the exit code when the daemon stops.
    /// </summary>
    public static Task<int> RunAsync(string[] args, IReadOnlyList<MilterRegistration> filters, MilterHostOptions? options = null)
        => Task.Factory.StartNew(() => Run(args, filters, options), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
