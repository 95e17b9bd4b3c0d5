using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Every log line a Roxy host writes, formatted with its exception, so tests can search them for secrets. At
/// <paramref name="minimum"/> <see cref="LogLevel.Trace"/> with <paramref name="scopes"/> it keeps everything a logger is
/// handed, the state of every scope included.
/// </summary>
public sealed class CapturedLogs(LogLevel minimum = LogLevel.Information, bool scopes = false) : ILoggerProvider
{
    private readonly LogLevel _minimum = minimum;
    private readonly bool _scopes = scopes;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<CapturedEntry> _entries = new();

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    /// <summary>The entries with their event id and their named values, for tests of a structured line.</summary>
    public IReadOnlyCollection<CapturedEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, CapturedLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            if (logs._scopes)
            {
                logs._lines.Enqueue($"Scope {category}: {Describe(state)}");
            }

            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel >= logs._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var text = formatter(state, exception);
            logs._lines.Enqueue($"{logLevel} {category}: {text}{(exception is null ? "" : " " + exception)}");
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> named)
            {
                foreach (var (name, value) in named)
                {
                    values[name] = value;
                }
            }

            logs._entries.Enqueue(new CapturedEntry(logLevel, category, eventId.Id, text, values));
        }

        // A scope's text and each of its values (a scope's ToString need not show them all).
        private static string Describe(object state) => state is IEnumerable<KeyValuePair<string, object?>> values
            ? state + " " + string.Join(" ", values.Select(v => $"{v.Key}={v.Value}"))
            : state.ToString() ?? "";
    }
}
