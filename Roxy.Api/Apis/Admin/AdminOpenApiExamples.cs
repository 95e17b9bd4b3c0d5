using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.OpenApi;
using Roxy.Api.Errors;
using Roxy.Api.Json;

namespace Roxy.Api.Apis.Admin;

/// <summary>Request and response examples of the admin routes in the OpenAPI document (and so in Scalar).</summary>
public static class AdminOpenApiExamples
{
    /// <summary>
    /// Describes the JSON request body as <typeparamref name="T"/> with this example. The routes read their body
    /// themselves (<see cref="AdminJsonBody"/>), so nothing else declares it; <c>Accepts&lt;T&gt;</c> would also make
    /// routing refuse a body without <c>Content-Type: application/json</c>.
    /// </summary>
    public static RouteHandlerBuilder WithRequestExample<T>(this RouteHandlerBuilder builder, T example) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/json"] = new() { Schema = schema, Example = ToNode(example) },
                },
            };
        });

    /// <summary>Sets the example of the JSON response with <paramref name="status"/>; the route must declare that response.</summary>
    public static RouteHandlerBuilder WithResponseExample<T>(this RouteHandlerBuilder builder, int status, T example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.TryGetValue(status.ToString(CultureInfo.InvariantCulture), out var response) == true
                && response.Content?.TryGetValue("application/json", out var media) == true)
            {
                media.Example = ToNode(example);
            }

            return Task.CompletedTask;
        });

    /// <summary>Sets an error response's example to what the route answers with <paramref name="error"/>.</summary>
    public static RouteHandlerBuilder WithErrorExample(this RouteHandlerBuilder builder, ProxyError error) =>
        builder.WithResponseExample(error.Status, new OpenAiErrorResponse(new OpenAiError(error.Message, error.Type, error.Param, error.Code)));

    /// <summary>The admin routes' error answers, all in OpenAI's error shape.</summary>
    public static RouteHandlerBuilder ProducesAdminErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Length == 0 ? [400, 401, 403, 404] : statuses)
        {
            builder.Produces<OpenAiErrorResponse>(status);
        }

        return builder;
    }

    private static JsonNode? ToNode<T>(T example) =>
        JsonSerializer.SerializeToNode(example, (JsonTypeInfo<T>)RoxyJsonContext.Default.GetTypeInfo(typeof(T))!);
}
