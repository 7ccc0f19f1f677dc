using System.Text;
using Microsoft.Extensions.Logging;
using ZLogger;
using ZLogger.Providers;

namespace AotMilter.Cli;

/// <summary>
/// The daemon's logger: ZLogger plain text, to standard error or to a file. The factory is put together by hand
/// rather than through <c>LoggerFactory.Create</c>: that builds a dependency-injection container whose open generic
/// services (options, monitors, configure callbacks) Native AOT instantiates at run time through its type loader,
/// which was a third of the time from exec to a listening socket, for one logger provider known at compile time.
/// </summary>
internal static class Logging
{
    public static ILoggerFactory Create(LogLevel level, string? file)
    {
        ILoggerProvider provider;
        if (file is null)
        {
            // Standard output stays free for command output; logs go to standard error.
            Console.OutputEncoding = new UTF8Encoding(false);
            var options = new ZLoggerOptions();
            Format(options);
            provider = new ZLoggerStreamLoggerProvider(Console.OpenStandardError(), options);
        }
        else
        {
            var options = new ZLoggerFileOptions();
            Format(options);
            provider = new ZLoggerFileLoggerProvider(file, options);
        }

        var factory = new LoggerFactory([], new LoggerFilterOptions { MinLevel = level });

        // Added (not passed to the constructor) so that disposing the factory disposes the provider, which writes out
        // what is still queued: the shutdown statistics line is the last thing the daemon logs.
        factory.AddProvider(provider);
        return factory;
    }

    private static void Format(ZLoggerOptions options)
    {
        options.UsePlainTextFormatter(formatter =>
        {
            formatter.SetPrefixFormatter($"{0:local-longdate} {1:short} ",
                (in MessageTemplate template, in LogInfo info) => template.Format(info.Timestamp, info.LogLevel));
        });
    }
}
