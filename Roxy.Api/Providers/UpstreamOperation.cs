namespace Roxy.Api.Providers;

public enum UpstreamOperation
{
    ChatCompletions,
    Embeddings,
    Models,
}
