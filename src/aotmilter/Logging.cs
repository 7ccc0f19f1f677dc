using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Cli;

/// <summary>The daemon's logger: ZLogger plain text, to standard error or to a file.</summary>
internal static class Logging
{
    public static ILoggerFactory Create(LogLevel level, string? file)
    {
        return LoggerFactory.Create(builder =>
        {
            builder.ClearProviders();
            builder.SetMinimumLevel(level);
            if (file is null)
            {
                builder.AddZLoggerConsole(options =>
                {
                    // Standard output stays free for command output; logs go to standard error.
                    options.LogToStandardErrorThreshold = LogLevel.Trace;
                    Format(options);
                });
            }
            else
            {
                builder.AddZLoggerFile(file, Format);
            }
        });
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
