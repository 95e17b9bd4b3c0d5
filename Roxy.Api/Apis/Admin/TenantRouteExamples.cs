using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// Request and response examples for the admin routes in the OpenAPI document (and so in Scalar). The request body is
/// described here too (like <see cref="OpenApiBodyExtensions.DescribesJsonBody{T}"/>), so its example has a place to go.
/// </summary>
public static class TenantRouteExamples
{
    /// <param name="request">The request body's example, or null for a route without a body.</param>
    /// <param name="responses">Per status, the response body's example.</param>
    public static RouteHandlerBuilder WithJsonExamples<TRequest>(this RouteHandlerBuilder builder, string request, params (int Status, string Json)[] responses) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(TRequest), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/json"] = new() { Schema = schema, Example = JsonNode.Parse(request) },
                },
            };
            AddResponses(operation, responses);
        });

    public static RouteHandlerBuilder WithJsonExamples(this RouteHandlerBuilder builder, params (int Status, string Json)[] responses) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            AddResponses(operation, responses);
            return Task.CompletedTask;
        });

    private static void AddResponses(OpenApiOperation operation, (int Status, string Json)[] responses)
    {
        foreach (var (status, json) in responses)
        {
            if (operation.Responses?.TryGetValue(status.ToString(CultureInfo.InvariantCulture), out var response) == true
                && response.Content?.TryGetValue("application/json", out var media) == true)
            {
                media.Example = JsonNode.Parse(json);
            }
        }
    }
}
