using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Errors;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Apis;

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ListModelsAsync)
            .WithName("ListModels")
            .WithSummary("The models this tenant may ask for: rule sources and the targets its rules name.")
            .WithTags("OpenAI")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status401Unauthorized);
        return app;
    }

    public static async Task<Results<Ok<ModelList>, OpenAiErrorResult>> ListModelsAsync(
        HttpContext http, TokenAuthenticator authenticator, TenantSnapshotCache tenants, RuleCache rules, ModelResolver resolver)
    {
        var identity = await authenticator.AuthenticateAsync(http);
        if (identity is null)
        {
            return ErrorWriter.ToResult(ProxyError.InvalidApiKey);
        }

        var tenant = await tenants.GetAsync(identity.TenantId);
        var entries = resolver.ListModels(tenant, await rules.GetAllAsync(tenant))
            .Select(m => new ModelEntry(m.Id, "model", 0, m.OwnedBy))
            .ToArray();
        return TypedResults.Ok(new ModelList("list", entries));
    }
}
