using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary><c>/admin/tenants/{tenant}/audit</c>: the same log as <c>#roxy audit</c>, changes by chat and by this API alike.</summary>
public static class AuditRoutes
{
    public static RouteGroupBuilder MapAuditRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/audit", ReadAsync)
            .WithName("ReadAudit")
            .WithSummary("The tenant's last changes, as #roxy audit.")
            .WithDescription($"Newest first: time, token id, channel (chat or api) and the change with secrets masked. 'limit' from 1 to {AuditAdministration.MaxCount}, default {AuditAdministration.DefaultCount}.")
            .WithResponseExample(StatusCodes.Status200OK, AuditList.Example)
            .ProducesAdminErrors();
        return group;
    }

    // The limit is read as text: a bound int? would answer "limit=abc" with an empty 400 instead of OpenAI's shape.
    public static async Task<Results<Ok<AuditList>, OpenAiErrorResult>> ReadAsync(string tenant, string? limit, AuditAdministration audit)
    {
        var count = AuditAdministration.DefaultCount;
        if (limit is not null && !int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count))
        {
            count = 0;
        }

        var entries = await audit.ReadAsync(tenant, count);
        return entries is null
            ? ErrorWriter.ToResult(AdminErrors.Invalid($"'limit' must be a whole number from 1 to {AuditAdministration.MaxCount}.", "limit"))
            : TypedResults.Ok(new AuditList([.. entries.Select(AuditView.From)]));
    }
}
