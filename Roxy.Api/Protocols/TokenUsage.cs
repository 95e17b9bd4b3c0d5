namespace Roxy.Api.Protocols;

/// <summary>
/// Tokens an answer cost. <see cref="PromptTokens"/> counts every input token, cached ones included (Anthropic's
/// input + cache creation + cache read); <see cref="CachedTokens"/> is the part read from the provider's cache.
/// </summary>
public readonly record struct TokenUsage(long PromptTokens, long CompletionTokens, long CachedTokens = 0)
{
    public long Total => PromptTokens + CompletionTokens;
}
