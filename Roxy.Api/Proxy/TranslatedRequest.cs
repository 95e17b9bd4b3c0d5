namespace Roxy.Api.Proxy;

/// <summary>A client's request restated as an OpenAI chat request: the body and what the chat reader read from it.</summary>
/// <param name="MaxCompletionTokens">The budget is named <c>max_completion_tokens</c> (OpenAI's own API), not <c>max_tokens</c>.</param>
public sealed record TranslatedRequest(PooledBuffer Body, ChatRequestInfo Info, bool MaxCompletionTokens) : IDisposable
{
    public void Dispose() => Body.Dispose();
}
