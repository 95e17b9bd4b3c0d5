namespace Roxy.Api.Proxy;

/// <summary>A client's request restated as an OpenAI chat request: the body and what the chat reader read from it.</summary>
public sealed record TranslatedRequest(PooledBuffer Body, ChatRequestInfo Info) : IDisposable
{
    public void Dispose() => Body.Dispose();
}
