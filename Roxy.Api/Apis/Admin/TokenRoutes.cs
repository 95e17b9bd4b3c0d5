using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>A tenant's tokens (SPEC §4a): list, issue, revoke. For the tenant's admin tokens and the operator.</summary>
public static class TokenRoutes
{
    private static readonly string[] IssueFields = ["role", "name", "budget"];

    public static RouteGroupBuilder MapTokenRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/tokens", ListAsync)
            .WithName("ListTokens")
            .WithSummary("Lists the tenant's tokens.")
            .WithDescription("Id, name, role, owner (config tokens come from the YAML; runtime ones were issued here), when issued, when last used (last 31 days) and budget. Never the token or its hash.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status403Forbidden)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .WithJsonExamples((200, """{"object":"list","data":[{"id":"t-3f9a0c21be","name":"ci","role":"member","owner":"runtime","created":"2026-12-01T09:30:00+00:00","last_used":"2026-12-01T10:02:11+00:00","budget":{"daily_usd":1,"monthly_usd":null}},{"id":"t-8be1d04a77","name":null,"role":"admin","owner":"config","created":null,"last_used":null,"budget":null}]}"""));

        group.MapPost("/tokens", IssueAsync)
            .WithName("IssueToken")
            .WithSummary("Issues a token for the tenant.")
            .WithDescription("The answer holds the token this once: Roxy keeps only its SHA-256. It works on every frontend at once. role is admin or member; a budget's limits (USD per UTC day and month) may not be above the tenant's.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .WithJsonExamples<TokenIssueRequest>(
                """{"role":"member","name":"ci","budget":{"daily_usd":1,"monthly_usd":null}}""",
                (201, """{"id":"t-3f9a0c21be","token":"roxy-q2Vh1m0cJ2sQ8c8Jk7mM3b0f2o0W1l3n5Ql9x7yZk2U","role":"member","name":"ci","budget":{"daily_usd":1,"monthly_usd":null}}"""),
                (400, """{"error":{"message":"'budget.daily_usd' may not be above the tenant's daily budget (0.5 USD).","type":"invalid_request_error","param":"budget.daily_usd","code":"invalid_request_error"}}"""));

        group.MapDelete("/tokens/{id}", RevokeAsync)
            .WithName("RevokeToken")
            .WithSummary("Revokes one of the tenant's tokens.")
            .WithDescription("Refused by this frontend from the next request on and by every other frontend within 5 s. A config token is 409: remove it from the YAML.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status409Conflict)
            .WithJsonExamples(
                (404, """{"error":{"message":"There is no token 't-0000000000'.","type":"invalid_request_error","param":"id","code":"not_found"}}"""),
                (409, """{"error":{"message":"Token t-8be1d04a77 comes from the config; remove it there.","type":"invalid_request_error","param":null,"code":"config_owned"}}"""));
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
        var (body, error) = await TenantRequestBody.ReadObjectAsync(http.Request, IssueFields);
        string? role = null, name = null;
        BudgetLimits? budget = null;
        error ??= TenantRequestBody.String(body, "role", out role)
            ?? TenantRequestBody.String(body, "name", out name)
            ?? (body.TryGetProperty("budget", out var budgetField) ? TenantRequestBody.Budget(budgetField, "budget", out budget) : null);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        var (issued, failed) = await tokens.IssueAsync(AdminCaller.From(http.User).Actor, tenant, role, name, budget);
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
