using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Apis;

public static class ChatCompletionsApi
{
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        // The one route that writes its response directly: it streams whatever the provider sends. The singleton
        // pipeline is captured rather than bound as a parameter, which would open a service scope per request.
        var pipeline = app.ServiceProvider.GetRequiredService<ProxyPipeline>();
        app.MapPost("/v1/chat/completions", (Func<HttpContext, Task>)pipeline.HandleChatCompletionsAsync)
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI chat completions, streaming or not, routed to an upstream model and key.")
            .WithTags("OpenAI")
            .DescribesJsonBody<ChatCompletionRequestDoc>()
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
