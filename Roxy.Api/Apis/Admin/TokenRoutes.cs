using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Json;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>A tenant's tokens (SPEC §4a): list, issue, revoke. For the tenant's admin tokens and the operator.</summary>
public static class TokenRoutes
{
    public static RouteGroupBuilder MapTokenRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/tokens", ListAsync)
            .WithName("ListTokens")
            .WithSummary("Lists the tenant's tokens.")
            .WithDescription("Id, name, role, owner (config tokens come from the YAML; runtime ones were issued here), when issued, when last used (last 31 days) and budget. Never the token or its hash.")
            .WithResponseExample(StatusCodes.Status200OK, TokenList.Example)
            .ProducesAdminErrors(401, 403, 404);

        group.MapPost("/tokens", IssueAsync)
            .WithName("IssueToken")
            .WithSummary("Issues a token for the tenant.")
            .WithDescription("The answer holds the token this once: Roxy keeps only its SHA-256. It works on every frontend at once. role is admin or member; a budget's limits (USD per UTC day and month) may not be above the tenant's.")
            .WithRequestExample(TokenIssueRequest.Example)
            .WithResponseExample(StatusCodes.Status201Created, TokenIssued.Example)
            .ProducesAdminErrors(400, 401, 403, 404)
            .WithErrorExample(TokenAdministration.OverTenant(new BudgetLimits(1, null), new BudgetLimits(0.5m, null))!);

        group.MapDelete("/tokens/{id}", RevokeAsync)
            .WithName("RevokeToken")
            .WithSummary("Revokes one of the tenant's tokens.")
            .WithDescription("Refused by this frontend from the next request on and by every other frontend within 5 s. A config token is 409: remove it from the YAML.")
            .ProducesAdminErrors(401, 403, 404, 409)
            .WithErrorExample(AdminErrors.NotFound("token", "t-0000000000", "id"))
            .WithErrorExample(TokenAdministration.ConfigOwned("t-8be1d04a77"));
        return group;
    }

    public static async Task<Ok<TokenList>> ListAsync(string tenant, TokenAdministration tokens)
    {
        var listed = await tokens.ListAsync(tenant);
        return TypedResults.Ok(new TokenList("list", listed.Select(t => new TokenSummary(
            t.Token.Id,
            t.Token.Name,
            Role(t.Token.Role),
            t.Token.Owner == Owner.Config ? "config" : "runtime",
            t.Token.Created,
            t.LastUsed,
            TenantBudget.From(t.Token.Budget))).ToArray()));
    }

    public static async Task<Results<Created<TokenIssued>, OpenAiErrorResult>> IssueAsync(HttpContext http, string tenant, TokenAdministration tokens)
    {
        var (body, error) = await AdminJsonBody.ReadAsync(http.Request, RoxyJsonContext.Default.TokenIssueRequest);
        var (budget, invalid) = body?.Budget?.ToLimits("budget.") ?? default;
        if ((error ?? invalid) is { } refused)
        {
            return ErrorWriter.ToResult(refused);
        }

        var (issued, failed) = await tokens.IssueAsync(AdminCaller.From(http.User).Actor, tenant, body!.Role, body.Name, budget);
        if (failed is not null)
        {
            return ErrorWriter.ToResult(failed);
        }

        var token = issued!.Token;
        return TypedResults.Created(
            $"/admin/tenants/{tenant}/tokens/{token.Id}",
            new TokenIssued(token.Id, issued.Secret, Role(token.Role), token.Name, TenantBudget.From(token.Budget)));
    }

    public static async Task<Results<NoContent, OpenAiErrorResult>> RevokeAsync(HttpContext http, string tenant, string id, TokenAdministration tokens)
    {
        var error = await tokens.RevokeAsync(AdminCaller.From(http.User).Actor, tenant, id);
        return error is null ? TypedResults.NoContent() : ErrorWriter.ToResult(error);
    }

    private static string Role(TenantRole role) => role == TenantRole.Admin ? "admin" : "member";
}
