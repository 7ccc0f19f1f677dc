using System.Collections.Concurrent;
using AotMilter.Mta;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server.Tests;

/// <summary>Keeps every log line the server writes, so tests can check that a failure was reported and why.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}: {Message}{(Exception is null ? "" : " | " + Exception.Message)}";
    }

    public IReadOnlyList<Entry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Waits until a line containing <paramref name="text"/> has been logged.</summary>
    public async Task<Entry> WaitForAsync(string text)
    {
        using var deadline = new CancellationTokenSource(MilterClient.DefaultTimeout);
        while (true)
        {
            Entry? entry = _entries.FirstOrDefault(e => e.Message.Contains(text, StringComparison.Ordinal));
            if (entry is not null)
            {
                return entry;
            }

            try
            {
                await Task.Delay(10, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no log line contains \"{text}\"; logged:\n{string.Join("\n", Entries)}");
            }
        }
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner._entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
    }
}
