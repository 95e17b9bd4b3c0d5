namespace Roxy.Api.Configuration;

/// <summary>Console log output: one line per entry, as text for people or as JSON for a log pipeline.</summary>
public sealed class LoggingConfig
{
    /// <summary><c>json</c> writes each entry as one JSON object whose fields include the line's named values.</summary>
    [OneOf("text", "json")]
    public string Format { get; set; } = "text";

    /// <summary>The least severe entries written; <c>warning</c> or above turns the per-request lines off.</summary>
    [OneOf("trace", "debug", "information", "warning", "error", "critical", "none")]
    public string Level { get; set; } = "information";
}
