namespace Roxy.Api.Protocols;

/// <summary>
/// One thing an answer says, in Roxy's own terms, whatever protocol the provider and the client speak: an upstream
/// protocol decodes its stream into these and an inbound protocol encodes them for its client.
/// </summary>
/// <remarks>A struct of references: decoding a stream allocates only the strings it carries.</remarks>
public readonly record struct ChatEvent(ChatEventKind Kind)
{
    /// <summary><see cref="ChatEventKind.Start"/>: the provider's id for this answer.</summary>
    public string? ResponseId { get; init; }

    /// <summary><see cref="ChatEventKind.Start"/>: the model that answers, as the provider names it.</summary>
    public string? Model { get; init; }

    /// <summary>Text of a delta, a fragment of tool-call arguments (JSON text), or an error's message.</summary>
    public string? Text { get; init; }

    /// <summary>Tool calls: a 0-based count of the answer's tool calls, whatever the provider numbers them.</summary>
    public int ToolIndex { get; init; }

    public string? ToolCallId { get; init; }
    public string? ToolName { get; init; }
    public FinishReason Finish { get; init; }
    public TokenUsage Usage { get; init; }

    /// <summary><see cref="ChatEventKind.Error"/>: an OpenAI error type (<c>server_error</c>, <c>rate_limit_error</c>, …).</summary>
    public string? ErrorType { get; init; }

    public static ChatEvent Started(string? responseId, string? model) => new(ChatEventKind.Start) { ResponseId = responseId, Model = model };

    public static ChatEvent TextDelta(string text) => new(ChatEventKind.TextDelta) { Text = text };

    public static ChatEvent ToolCallStarted(int index, string id, string name) =>
        new(ChatEventKind.ToolCallStart) { ToolIndex = index, ToolCallId = id, ToolName = name };

    public static ChatEvent ToolCallArguments(int index, string fragment) =>
        new(ChatEventKind.ToolCallArguments) { ToolIndex = index, Text = fragment };

    public static ChatEvent Finished(FinishReason reason) => new(ChatEventKind.Finish) { Finish = reason };

    public static ChatEvent UsageReported(TokenUsage usage) => new(ChatEventKind.Usage) { Usage = usage };

    public static ChatEvent Failed(string errorType, string message) => new(ChatEventKind.Error) { ErrorType = errorType, Text = message };
}
