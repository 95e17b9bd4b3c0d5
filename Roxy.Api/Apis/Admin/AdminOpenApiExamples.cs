using System.Text.Json;
using System.Text.Json.Nodes;
using Roxy.Api.Errors;
using Roxy.Api.Json;

namespace Roxy.Api.Apis.Admin;

/// <summary>Request and response examples of the admin routes in the OpenAPI document (and so in Scalar).</summary>
public static class AdminOpenApiExamples
{
    /// <summary>Sets the JSON request body's example; call after <c>DescribesJsonBody</c>.</summary>
    public static RouteHandlerBuilder WithRequestExample<T>(this RouteHandlerBuilder builder, T example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true)
            {
                media.Example = ToNode(example);
            }

            return Task.CompletedTask;
        });

    /// <summary>Sets the example of the JSON response with <paramref name="status"/>; the route must declare that response.</summary>
    public static RouteHandlerBuilder WithResponseExample<T>(this RouteHandlerBuilder builder, int status, T example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) == true
                && response.Content?.TryGetValue("application/json", out var media) == true)
            {
                media.Example = ToNode(example);
            }

            return Task.CompletedTask;
        });

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
        JsonSerializer.SerializeToNode(example, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)RoxyJsonContext.Default.GetTypeInfo(typeof(T))!);
}
