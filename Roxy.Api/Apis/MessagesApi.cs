using Roxy.Api.Proxy;

namespace Roxy.Api.Apis;

public static class MessagesApi
{
    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        // Written by the pipeline, as chat is. Anthropic's SDKs add '?beta=true' to both routes; the query is ignored.
        var pipeline = app.ServiceProvider.GetRequiredService<ProxyPipeline>();
        app.MapPost("/v1/messages", (Func<HttpContext, Task>)pipeline.HandleMessagesAsync)
            .WithName("CreateMessage")
            .WithSummary("Anthropic Messages, streaming or not, through the same rules, rotation and failover as chat, to a target of any protocol.")
            .WithTags("Anthropic")
            .DescribesJsonBody<MessagesRequestDoc>()
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces<AnthropicErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status502BadGateway)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status504GatewayTimeout)
            .Produces<AnthropicErrorResponse>(529);
        app.MapPost("/v1/messages/count_tokens", (Func<HttpContext, Task>)pipeline.HandleCountTokensAsync)
            .WithName("CountMessageTokens")
            .WithSummary("The input tokens of a Messages request (system, messages, tools), counted by Roxy's tokenizer; nothing is sent upstream.")
            .WithTags("Anthropic")
            .DescribesJsonBody<MessagesRequestDoc>()
            .Produces<CountTokensResult>(StatusCodes.Status200OK)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<AnthropicErrorResponse>(StatusCodes.Status413PayloadTooLarge);
        return app;
    }
}
