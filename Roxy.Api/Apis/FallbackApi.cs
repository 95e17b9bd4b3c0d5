using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Grains.Hosting.Dashboard;

namespace Roxy.Api.Apis;

/// <summary>
/// What no route matches still gets an answer in the caller's error shape (Anthropic's under <c>/v1/messages</c>,
/// OpenAI's elsewhere): 404 for an unknown path, 405 (with <c>Allow</c>) for a known path asked with the wrong method.
/// Routing alone would answer both with an empty body.
/// </summary>
public static class FallbackApi
{
    public static IEndpointRouteBuilder MapFallbackApi(this IEndpointRouteBuilder app)
    {
        var sources = app.DataSources;
        // Any method, last in order: a path that matches a route under another method lands here too, instead of on
        // routing's own (empty) 405 endpoint.
        app.Map("/{**path}", context => AnswerAsync(context, sources))
            .WithOrder(int.MaxValue)
            .ExcludeFromDescription();
        return app;
    }

    private static Task AnswerAsync(HttpContext context, ICollection<EndpointDataSource> sources)
    {
        var allowed = AllowedMethods(context.Request.Path, sources);
        // An Anthropic SDK calling a Messages route Roxy does not serve (batches, say) reads its own error shape.
        var protocol = context.Request.Path.StartsWithSegments("/v1/messages", StringComparison.OrdinalIgnoreCase)
            ? WireProtocol.AnthropicMessages
            : WireProtocol.OpenAiChat;
        if (allowed.Count == 0)
        {
            return ErrorWriter.WriteAsync(context, ProxyError.RouteNotFound(context.Request.Method, context.Request.Path, protocol == WireProtocol.AnthropicMessages), protocol);
        }

        context.Response.Headers.Allow = string.Join(", ", allowed);
        return ErrorWriter.WriteAsync(context, ProxyError.MethodNotAllowed(context.Request.Method, allowed), protocol);
    }

    private static List<string> AllowedMethods(PathString path, ICollection<EndpointDataSource> sources)
    {
        var allowed = new List<string>();
        foreach (var source in sources)
        {
            foreach (var endpoint in source.Endpoints)
            {
                // The Orleans dashboard's routes, on its own port, are not this port's to offer.
                if (endpoint is RouteEndpoint route && route.Order != int.MaxValue && endpoint.Metadata.GetMetadata<DashboardPortMetadata>() is null
                    && route.RoutePattern.RawText is { } pattern && !pattern.Contains('{')
                    && path.Equals(pattern.StartsWith('/') ? pattern : "/" + pattern, StringComparison.OrdinalIgnoreCase)
                    && endpoint.Metadata.GetMetadata<HttpMethodMetadata>() is { } methods)
                {
                    allowed.AddRange(methods.HttpMethods);
                }
            }
        }

        return allowed;
    }
}
