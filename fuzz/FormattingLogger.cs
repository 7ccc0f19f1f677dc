using Microsoft.Extensions.Logging;

namespace AotMilter.Fuzz;

/// <summary>
/// A logger with every level on that formats each message and drops it: the log lines are built from the same
/// input as everything else (client names, addresses, header values), so their formatting is fuzzed too.
/// </summary>
internal sealed class FormattingLogger : ILogger
{
    public static readonly FormattingLogger Instance = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => GC.KeepAlive(formatter(state, exception));
}
