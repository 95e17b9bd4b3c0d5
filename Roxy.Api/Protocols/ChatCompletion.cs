namespace Roxy.Api.Protocols;

/// <summary>A whole (non-streamed) answer decoded from another protocol, for an inbound protocol to encode.</summary>
public sealed record ChatCompletion(
    string Id,
    string Model,
    string? Text,
    IReadOnlyList<ToolCall> ToolCalls,
    FinishReason Finish,
    TokenUsage Usage,
    bool UsageKnown);

/// <summary>A tool call with its arguments as one JSON text (<c>"{}"</c> when the provider gave none).</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);
