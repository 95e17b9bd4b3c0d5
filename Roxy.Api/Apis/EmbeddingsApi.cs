using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Apis;

public static class EmbeddingsApi
{
    public static IEndpointRouteBuilder MapEmbeddingsApi(this IEndpointRouteBuilder app)
    {
        // Written by the pipeline, as chat is: the provider's answer passes through as received.
        var pipeline = app.ServiceProvider.GetRequiredService<ProxyPipeline>();
        app.MapPost("/v1/embeddings", (Func<HttpContext, Task>)pipeline.HandleEmbeddingsAsync)
            .WithName("CreateEmbedding")
            .WithSummary("OpenAI embeddings, routed through the same rules, key rotation and failover as chat; the answer is passed through unchanged.")
            .WithTags("OpenAI")
            .DescribesJsonBody<EmbeddingsRequestDoc>()
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status502BadGateway)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status504GatewayTimeout);
        return app;
    }
}
