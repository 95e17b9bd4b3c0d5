using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>The operator's tenant routes (SPEC §4a): list, create, delete, and the tenant's budget.</summary>
public static class TenantRoutes
{
    private const string Conflict = """{"error":{"message":"Tenant 'acme''s budget comes from the config; change it there.","type":"invalid_request_error","param":null,"code":"config_owned"}}""";
    private const string Missing = """{"error":{"message":"There is no tenant 'acme'.","type":"invalid_request_error","param":"tenant","code":"tenant_not_found"}}""";
    private const string Budget = """{"daily_usd":5,"monthly_usd":100}""";

    public static RouteGroupBuilder MapTenantRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/tenants", ListAsync)
            .WithName("ListTenants")
            .WithSummary("Lists every tenant.")
            .WithDescription("Operator only. Every tenant, those the YAML names (owner config) and those created through this API (owner runtime), with how many tokens and keys each has and its budget.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status403Forbidden)
            .WithJsonExamples((200, """{"object":"list","data":[{"id":"acme","owner":"runtime","tokens":2,"keys":1,"budget":{"daily_usd":5,"monthly_usd":100}},{"id":"default","owner":"config","tokens":1,"keys":3,"budget":null}]}"""));

        group.MapPost("/tenants", CreateAsync)
            .WithName("CreateTenant")
            .WithSummary("Creates a runtime-owned tenant.")
            .WithDescription("Operator only. The tenant starts empty (no tokens, keys or rules; prompt cache on): issue it a token next (POST /admin/tenants/{tenant}/tokens). 409 when a config or runtime tenant has the id; 400 for an id that is not 1-63 lowercase letters, digits, '-' or '_'.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status409Conflict)
            .WithJsonExamples<TenantCreateRequest>(
                """{"id":"acme"}""",
                (201, """{"id":"acme","owner":"runtime","tokens":0,"keys":0,"budget":null}"""),
                (400, """{"error":{"message":"'id' is not a valid tenant id: use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.","type":"invalid_request_error","param":"id","code":"invalid_request_error"}}"""),
                (409, """{"error":{"message":"A tenant 'acme' exists already.","type":"invalid_request_error","param":null,"code":"tenant_exists"}}"""));

        group.MapDelete("/tenants/{tenant}", DeleteAsync)
            .WithName("DeleteTenant")
            .WithSummary("Deletes a runtime-owned tenant with everything in it.")
            .WithDescription("Operator only. Its tokens stop working at once (every frontend within 5 s), its keys are released (another tenant may add them), its rules, prompt cache entries, usage and budgets go. A tenant from the YAML is 409: remove it there.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status409Conflict)
            .WithJsonExamples((404, Missing), (409, """{"error":{"message":"Tenant 'default' comes from the config; remove it there.","type":"invalid_request_error","param":null,"code":"config_owned"}}"""));

        group.MapPut("/tenants/{tenant}/budget", SetBudgetAsync)
            .WithName("SetTenantBudget")
            .WithSummary("Sets the tenant's budget.")
            .WithDescription("Operator only (a tenant admin cannot raise its own). USD per UTC day and per UTC month; a missing or null limit is no limit, so {} removes the budget. The answer is the budget now in force. A budget set in the YAML is 409.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status409Conflict)
            .WithJsonExamples<TenantBudget>(
                Budget,
                (200, Budget),
                (400, """{"error":{"message":"'daily_usd' must be 0 or more; null removes the limit.","type":"invalid_request_error","param":"daily_usd","code":"invalid_request_error"}}"""),
                (404, Missing),
                (409, Conflict));
        return group;
    }

    public static async Task<Ok<TenantList>> ListAsync(TenantAdministration tenants)
    {
        var listing = await tenants.ListAsync();
        return TypedResults.Ok(new TenantList("list", listing.Select(t => Summary(t.Snapshot, t.Listing.TokenCount)).ToArray()));
    }

    public static async Task<Results<Created<TenantSummary>, OpenAiErrorResult>> CreateAsync(HttpContext http, TenantAdministration tenants)
    {
        var (body, error) = await TenantRequestBody.ReadObjectAsync(http.Request, ["id"]);
        string? id = null;
        error ??= TenantRequestBody.String(body, "id", out id);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        var (created, failed) = await tenants.CreateAsync(AdminCaller.From(http.User).Actor, id);
        return failed is not null
            ? ErrorWriter.ToResult(failed)
            : TypedResults.Created($"/admin/tenants/{created!.TenantId}", Summary(created, created.Tokens.Count));
    }

    public static async Task<Results<NoContent, OpenAiErrorResult>> DeleteAsync(HttpContext http, string tenant, TenantAdministration tenants)
    {
        var error = await tenants.DeleteAsync(AdminCaller.From(http.User).Actor, tenant);
        return error is null ? TypedResults.NoContent() : ErrorWriter.ToResult(error);
    }

    public static async Task<Results<Ok<TenantBudget>, OpenAiErrorResult>> SetBudgetAsync(HttpContext http, string tenant, TenantAdministration tenants)
    {
        var (body, error) = await TenantRequestBody.ReadObjectAsync(http.Request, TenantRequestBody.BudgetFields);
        Grains.Budgets.BudgetLimits? budget = null;
        error ??= TenantRequestBody.Budget(body, "", out budget);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        var (set, failed) = await tenants.SetBudgetAsync(AdminCaller.From(http.User).Actor, tenant, budget);
        return failed is not null ? ErrorWriter.ToResult(failed) : TypedResults.Ok(TenantBudget.From(set) ?? new TenantBudget(null, null));
    }

    private static TenantSummary Summary(TenantSnapshot tenant, int tokens) =>
        new(tenant.TenantId, tenant.Owner == Owner.Config ? "config" : "runtime", tokens, tenant.Keys.Count, TenantBudget.From(tenant.Budget));
}
