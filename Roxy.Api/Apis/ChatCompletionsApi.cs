using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Apis;

public static class ChatCompletionsApi
{
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        // The one route that writes its response directly: it streams whatever the provider sends.
        app.MapPost("/v1/chat/completions", (HttpContext http, ProxyPipeline pipeline) => pipeline.HandleChatCompletionsAsync(http))
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI chat completions, streaming or not, routed to an upstream model and key.")
            .WithTags("OpenAI")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
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
