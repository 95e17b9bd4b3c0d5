namespace Roxy.Api.Errors;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAiError(string Message, string Type, string? Param, string? Code);

public sealed record OpenAiErrorResponse(OpenAiError Error);
