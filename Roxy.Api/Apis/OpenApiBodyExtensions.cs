using Microsoft.OpenApi;

namespace Roxy.Api.Apis;

public static class OpenApiBodyExtensions
{
    /// <summary>
    /// Describes a route's JSON request body in the OpenAPI document, and only there. <c>Accepts&lt;T&gt;</c> would also
    /// make routing refuse a request without <c>Content-Type: application/json</c> (with 405, from the fallback),
    /// which OpenAI's API and Roxy's own reader take.
    /// </summary>
    public static RouteHandlerBuilder DescribesJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = new() { Schema = schema } },
            };
        });
}
