using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// What Roxy's console would print, line by line, without writing to the process's stdout: every entry is rendered by
/// the console formatter the host's configuration selected (the real <c>JsonConsoleFormatter</c> for
/// <c>logging.format: json</c>), with the options Roxy gave it. Registered as a service so that it finds that formatter.
/// </summary>
public sealed class ConsoleFormattedLogs(IEnumerable<ConsoleFormatter> formatters, IOptionsMonitor<ConsoleLoggerOptions> options) : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConsoleFormatter _formatter = formatters.Single(f => f.Name == (options.CurrentValue.FormatterName ?? ConsoleFormatterNames.Simple));

    /// <summary>The name of the formatter in use: <c>json</c> or <c>simple</c>.</summary>
    public string FormatterName => _formatter.Name;

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConsoleFormattedLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            using var writer = new StringWriter();
            logs._formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), scopeProvider: null, writer);
            logs._lines.Enqueue(writer.ToString());
        }
    }
}
