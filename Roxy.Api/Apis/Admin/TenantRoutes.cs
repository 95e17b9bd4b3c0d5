using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Json;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>The operator's tenant routes (SPEC §4a): list, create, delete, and the tenant's budget.</summary>
public static class TenantRoutes
{
    public static RouteGroupBuilder MapTenantRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/tenants", ListAsync)
            .WithName("ListTenants")
            .WithSummary("Lists every tenant.")
            .WithDescription("Operator only. Every tenant, those the YAML names (owner config) and those created through this API (owner runtime), with how many tokens and keys each has and its budget.")
            .WithResponseExample(StatusCodes.Status200OK, TenantList.Example)
            .ProducesAdminErrors(401, 403);

        group.MapPost("/tenants", CreateAsync)
            .WithName("CreateTenant")
            .WithSummary("Creates a runtime-owned tenant.")
            .WithDescription("Operator only. The tenant starts empty (no tokens, keys or rules; prompt cache on): issue it a token next (POST /admin/tenants/{tenant}/tokens). 409 when a config or runtime tenant has the id; 400 for an id that is not 1-63 lowercase letters, digits, '-' or '_'.")
            .WithRequestExample(TenantCreateRequest.Example)
            .WithResponseExample(StatusCodes.Status201Created, TenantSummary.Example with { Budget = null })
            .ProducesAdminErrors(400, 401, 403, 409)
            .WithErrorExample(TenantAdministration.InvalidId)
            .WithErrorExample(TenantAdministration.Exists("acme"));

        group.MapDelete("/tenants/{tenant}", DeleteAsync)
            .WithName("DeleteTenant")
            .WithSummary("Deletes a runtime-owned tenant with everything in it.")
            .WithDescription("Operator only. Its tokens stop working at once (every frontend within 5 s), its keys are released (another tenant may add them), its rules, prompt cache entries, usage and budgets go. A tenant from the YAML is 409: remove it there.")
            .ProducesAdminErrors(401, 403, 404, 409)
            .WithErrorExample(AdminErrors.TenantNotFound("acme"))
            .WithErrorExample(TenantAdministration.ConfigOwned("default"));

        group.MapPut("/tenants/{tenant}/budget", SetBudgetAsync)
            .WithName("SetTenantBudget")
            .WithSummary("Sets the tenant's budget.")
            .WithDescription("Operator only (a tenant admin cannot raise its own). USD per UTC day and per UTC month; a missing or null limit is no limit, so {} removes the budget. The answer is the budget now in force. A budget set in the YAML is 409.")
            .WithRequestExample(TenantBudget.Example)
            .WithResponseExample(StatusCodes.Status200OK, TenantBudget.Example)
            .ProducesAdminErrors(400, 401, 403, 404, 409)
            .WithErrorExample(new TenantBudget(-1).ToLimits("").Error!)
            .WithErrorExample(AdminErrors.TenantNotFound("acme"))
            .WithErrorExample(TenantAdministration.BudgetConfigOwned("acme"));
        return group;
    }

    public static async Task<Ok<TenantList>> ListAsync(TenantAdministration tenants)
    {
        var listing = await tenants.ListAsync();
        return TypedResults.Ok(new TenantList("list", listing.Select(t => Summary(t.Snapshot, t.Listing.TokenCount)).ToArray()));
    }

    public static async Task<Results<Created<TenantSummary>, OpenAiErrorResult>> CreateAsync(HttpContext http, TenantAdministration tenants)
    {
        var (body, error) = await AdminJsonBody.ReadAsync(http.Request, RoxyJsonContext.Default.TenantCreateRequest);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        var (created, failed) = await tenants.CreateAsync(AdminCaller.From(http.User).Actor, body!.Id);
        return failed is not null
            ? ErrorWriter.ToResult(failed)
            : TypedResults.Created($"/admin/tenants/{created!.TenantId}", Summary(created, created.Tokens.Count));
    }

    public static async Task<Results<NoContent, OpenAiErrorResult>> DeleteAsync(HttpContext http, string tenant, TenantAdministration tenants)
    {
        var error = await tenants.DeleteAsync(AdminCaller.From(http.User).Actor, tenant);
        return error is null ? TypedResults.NoContent() : ErrorWriter.ToResult(error);
    }

    /// <summary>PUT replaces the whole budget: an absent limit is no limit, like a null one.</summary>
    public static async Task<Results<Ok<TenantBudget>, OpenAiErrorResult>> SetBudgetAsync(HttpContext http, string tenant, TenantAdministration tenants)
    {
        var (body, error) = await AdminJsonBody.ReadAsync(http.Request, RoxyJsonContext.Default.TenantBudget);
        var (budget, invalid) = body?.ToLimits("") ?? default;
        if ((error ?? invalid) is { } refused)
        {
            return ErrorWriter.ToResult(refused);
        }

        var (set, failed) = await tenants.SetBudgetAsync(AdminCaller.From(http.User).Actor, tenant, budget);
        return failed is not null ? ErrorWriter.ToResult(failed) : TypedResults.Ok(TenantBudget.From(set) ?? new TenantBudget());
    }

    private static TenantSummary Summary(TenantSnapshot tenant, int tokens) =>
        new(tenant.TenantId, tenant.Owner == Owner.Config ? "config" : "runtime", tokens, tenant.Keys.Count, TenantBudget.From(tenant.Budget));
}
