using Microsoft.Extensions.Logging;

namespace Roxy.Tests.Fixtures;

/// <summary>One captured log entry: its level, category, event id, text and named values.</summary>
public sealed record CapturedEntry(LogLevel Level, string Category, int EventId, string Text, IReadOnlyDictionary<string, object?> Values);
