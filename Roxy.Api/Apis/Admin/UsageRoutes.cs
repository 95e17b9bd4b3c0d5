using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Errors;
using Roxy.Api.Usage;

namespace Roxy.Api.Apis.Admin;

/// <summary><c>GET /admin/tenants/{tenant}/usage?period=day|month</c>: the same report as <c>#roxy usage</c>.</summary>
public static class UsageRoutes
{
    public static RouteGroupBuilder MapUsageRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/usage", GetUsageAsync)
            .WithName("GetTenantUsage")
            .WithSummary("The tenant's requests, tokens, cost and cache savings today or this month, by model, key and token.")
            .WithDescription(
                "`period=day` (the default) is today, `period=month` the first of the month to today, both in UTC. Cost is at the " +
                "built-in prices and the config's `prices:`; a model without a price costs 0 and is listed under `unpriced`. " +
                "Tokens are what providers processed: a prompt cache hit adds a request, a cache hit and its saving, no tokens, " +
                "and its key id is empty. Includes every frontend's requests up to about a second ago, and this frontend's up to now.")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status403Forbidden)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue("application/json", out var body) == true)
                {
                    body.Example = JsonNode.Parse(UsageReportExample.Json);
                }

                if (operation.Responses?.TryGetValue("400", out var bad) == true && bad.Content?.TryGetValue("application/json", out var error) == true)
                {
                    error.Example = JsonNode.Parse(UsageReportExample.BadPeriodJson);
                }

                return Task.CompletedTask;
            });
        return group;
    }

    public static async Task<Results<Ok<UsageReport>, OpenAiErrorResult>> GetUsageAsync(
        string tenant, string? period, UsageReports reports, TimeProvider time)
    {
        var chosen = period switch
        {
            null or "" or UsageReports.Day => UsageReports.Day,
            UsageReports.Month => UsageReports.Month,
            _ => null,
        };
        if (chosen is null)
        {
            return ErrorWriter.ToResult(BadPeriod);
        }

        return TypedResults.Ok(await reports.BuildAsync(tenant, chosen, time.GetUtcNow()));
    }

    internal static ProxyError BadPeriod { get; } = AdminErrors.Invalid("`period` must be `day` or `month`.", "period");
}
