using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Json;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// <c>/admin/tenants/{tenant}/rules</c>: the same operations as <c>#roxy list/add/remove model</c>, plus PUT of a whole
/// rule. Sources may hold '/' (OpenRouter ids such as <c>openai/gpt-4o</c>), so the source is the rest of the path.
/// </summary>
public static class RuleRoutes
{
    public static RouteGroupBuilder MapRuleRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/rules", ListAsync)
            .WithName("ListRules")
            .WithSummary("The tenant's model rules, as #roxy list models.")
            .WithDescription("Source, targets, policy, owner (config or runtime) and context-length failover of every rule, ordered by source.")
            .WithResponseExample(StatusCodes.Status200OK, RuleList.Example)
            .ProducesAdminErrors();
        group.MapPut("/rules/{**source}", PutAsync)
            .WithName("PutRule")
            .WithSummary("Creates or replaces a runtime rule.")
            .WithDescription("The rule gets exactly these targets and policy; every frontend routes by it within a second, this one at once. " +
                "201 when created, 200 when replaced (or already so); 400 for a bad source, target or policy, no targets, or an embedding rule whose targets name different models; " +
                "409 for a rule the configuration owns. The source may contain '/'.")
            .WithRequestExample(RulePutRequest.Example)
            .WithResponseExample(StatusCodes.Status200OK, RuleView.Example)
            .WithResponseExample(StatusCodes.Status201Created, RuleView.Example)
            .ProducesAdminErrors(400, 401, 403, 404, 409);
        group.MapDelete("/rules/{**source}", RemoveAsync)
            .WithName("RemoveRule")
            .WithSummary("Removes a runtime rule, as #roxy remove model <source>.")
            .WithDescription("204 when removed; 404 when the tenant has no such rule; 409 for a rule the configuration owns.")
            .ProducesAdminErrors(400, 401, 403, 404, 409);
        return group;
    }

    public static async Task<Ok<RuleList>> ListAsync(string tenant, RuleAdministration rules)
    {
        var listing = await rules.ListAsync(tenant);
        return TypedResults.Ok(new RuleList([.. listing.Rules.Select(RuleView.From)], listing.AllowUnlisted));
    }

    public static async Task<Results<Ok<RuleView>, Created<RuleView>, OpenAiErrorResult>> PutAsync(string tenant, string source, HttpContext http, RuleAdministration rules)
    {
        var (body, error) = await AdminJsonBody.ReadAsync(http.Request, RoxyJsonContext.Default.RulePutRequest);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        if (body!.Targets is null || body.Targets.Any(t => t is null))
        {
            return ErrorWriter.ToResult(AdminErrors.Invalid("'targets' is required: a list of at least one \"[provider:]model\".", "targets"));
        }

        var result = await rules.PutAsync(AdminCaller.From(http.User).Actor, tenant, source, body.Targets, body.Policy, body.FailoverOnContextLength ?? false);
        return result.Outcome switch
        {
            RuleOutcome.Done when result.Created => TypedResults.Created($"/admin/tenants/{tenant}/rules/{source}", RuleView.From(result.Rule!)),
            RuleOutcome.Done or RuleOutcome.Unchanged => TypedResults.Ok(RuleView.From(result.Rule!)),
            _ => ErrorWriter.ToResult(Refusal(result, tenant, source)),
        };
    }

    public static async Task<Results<NoContent, OpenAiErrorResult>> RemoveAsync(string tenant, string source, HttpContext http, RuleAdministration rules)
    {
        var result = await rules.RemoveAsync(AdminCaller.From(http.User).Actor, tenant, source, null);
        return result.Outcome == RuleOutcome.Done ? TypedResults.NoContent() : ErrorWriter.ToResult(Refusal(result, tenant, source));
    }

    private static ProxyError Refusal(RuleResult result, string tenant, string source) => result.Outcome switch
    {
        RuleOutcome.Invalid => AdminErrors.Invalid(result.Problem!, result.Param),
        RuleOutcome.ConfigOwned => AdminErrors.Conflict(
            "config_owned", $"The rule for '{source}' comes from the configuration file: the YAML owns it. Change it under model_rules in the config."),
        RuleOutcome.TenantNotFound => AdminErrors.TenantNotFound(tenant),
        RuleOutcome.EmbeddingModelsDiffer => AdminErrors.Invalid(
            $"'{source}' is an embedding rule (a model name contains \"embed\"): vectors of different embedding models cannot be compared, " +
            "so its targets may differ only in provider, not in model.", "targets"),
        _ => AdminErrors.NotFound("rule for", source, "source"),
    };
}
