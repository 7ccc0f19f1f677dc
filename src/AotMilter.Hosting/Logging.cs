using System.Text;
using Microsoft.Extensions.Logging;
using ZLogger;
using ZLogger.Providers;

namespace AotMilter.Hosting;

/// <summary>
/// The daemon's logger: ZLogger plain text, to standard error or appended to a file. The factory is put together by hand
/// rather than through <c>LoggerFactory.Create</c>: that builds a dependency-injection container whose open generic
/// services (options, monitors, configure callbacks) Native AOT instantiates at run time through its type loader,
/// which was a third of the time from exec to a listening socket, for one logger provider known at compile time.
/// </summary>
internal static class Logging
{
    /// <summary>Log lines waiting for a destination that does not take them; beyond it lines are dropped (and counted, see <see cref="LogQueue"/>).</summary>
    public const int MaxQueuedLines = 16_384;

    private static LogQueue? s_queue;

    /// <summary>True while lines wait for the log writer (of the factory made last): its thread needs a core.</summary>
    public static bool LinesWaiting => Volatile.Read(ref s_queue)?.Queued > 0;

    /// <exception cref="IOException">The log file cannot be opened or is refused (see <see cref="AppendOnlyFile.Open"/>).</exception>
    public static ILoggerFactory Create(LogLevel level, string? file)
    {
        Stream stream;
        if (file is null)
        {
            // Standard output stays free for command output; logs go to standard error.
            Console.OutputEncoding = new UTF8Encoding(false);
            stream = Console.OpenStandardError();
        }
        else
        {
            // Not ZLogger's file provider: its FileStream writes at its own offset, not at the end (see AppendOnlyFile).
            stream = AppendOnlyFile.Open(file);
        }

        // Bounded by LogQueue, which counts what it drops. ZLogger's own queue is the backstop, larger by more than the
        // lines that threads racing past LogQueue's check could add; growing without bound (ZLogger's default) let a
        // flood of connections make the daemon hold every pending line: 55 MB per 4 s at 17,000 connections/s with
        // standard error unread.
        var provider = new LogQueue(MaxQueuedLines, taken =>
        {
            var options = new ZLoggerOptions { FullMode = BackgroundBufferFullMode.Drop, BackgroundBufferCapacity = MaxQueuedLines + 4096 };
            Format(options, taken);
            return new ZLoggerStreamLoggerProvider(stream, options);
        });
        Volatile.Write(ref s_queue, provider);
        var factory = new LoggerFactory([], new LoggerFilterOptions { MinLevel = level });

        // Added (not passed to the constructor) so that disposing the factory disposes the provider, which writes out
        // what is still queued: the shutdown statistics line is the last thing the daemon logs.
        factory.AddProvider(provider);
        return factory;
    }

    /// <summary>The line format; <paramref name="taken"/> runs as the writer takes each line off its queue.</summary>
    private static void Format(ZLoggerOptions options, Action taken)
    {
        options.UsePlainTextFormatter(formatter =>
        {
            formatter.SetPrefixFormatter($"{0:local-longdate} {1:short} ",
                (in MessageTemplate template, in LogInfo info) =>
                {
                    taken();
                    template.Format(info.Timestamp, info.LogLevel);
                });
        });
    }
}
