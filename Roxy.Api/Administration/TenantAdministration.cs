using Roxy.Api.Apis.Admin;
using Roxy.Api.Errors;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>The operator's tenant operations: list, create and delete runtime tenants, and set a tenant's budget.</summary>
public sealed class TenantAdministration(IGrainFactory grains, TokenAdministration tokens, TenantSnapshotCache tenants, TimeProvider time)
{
    /// <summary>Every tenant with its snapshot (for its key count and budget).</summary>
    public async Task<IReadOnlyList<(TenantListing Listing, TenantSnapshot Snapshot)>> ListAsync()
    {
        var listing = await Registry.ListTenantsAsync();
        var snapshots = await Task.WhenAll(listing.Select(t => Tenant(t.Id).GetSnapshotAsync().AsTask()));
        return listing.Zip(snapshots).Where(p => p.Second.Exists).ToArray();
    }

    public async Task<(TenantSnapshot? Tenant, ProxyError? Error)> CreateAsync(AdminActor actor, string? tenantId)
    {
        if (string.IsNullOrEmpty(tenantId))
        {
            return (null, AdminErrors.Invalid("'id' is required.", "id"));
        }

        if (!TenantIds.IsValid(tenantId))
        {
            return (null, InvalidId);
        }

        var status = await Tenant(tenantId).CreateAsync(actor.Audit(time, $"create tenant {tenantId}"));
        if (status != TenantChangeStatus.Done)
        {
            return (null, Exists(tenantId));
        }

        await tenants.ReloadAsync(tenantId);
        return (await Tenant(tenantId).GetSnapshotAsync(), null);
    }

    public async Task<ProxyError?> DeleteAsync(AdminActor actor, string tenantId)
    {
        if (!TenantIds.IsValid(tenantId))
        {
            return AdminErrors.TenantNotFound(tenantId);
        }

        var status = await Tenant(tenantId).DeleteAsync(actor.Audit(time, $"delete tenant {tenantId}"));
        switch (status)
        {
            case TenantChangeStatus.Done:
                // Its tokens are refused by this frontend from the next request on.
                await tokens.AfterChangeAsync(tenantId);
                return null;
            case TenantChangeStatus.ConfigOwned:
                return ConfigOwned(tenantId);
            default:
                return AdminErrors.TenantNotFound(tenantId);
        }
    }

    /// <summary>Sets (null or no limits: removes) the tenant's budget; a config budget is 409.</summary>
    public async Task<(BudgetLimits? Budget, ProxyError? Error)> SetBudgetAsync(AdminActor actor, string tenantId, BudgetLimits? budget)
    {
        if (!TenantIds.IsValid(tenantId))
        {
            return (null, AdminErrors.TenantNotFound(tenantId));
        }

        var action = budget is null ? "remove tenant budget" : "set tenant budget " + TokenAdministration.Limits(budget);
        var status = await Tenant(tenantId).SetBudgetAsync(budget, actor.Audit(time, action));
        switch (status)
        {
            case TenantChangeStatus.Done:
                await tenants.ReloadAsync(tenantId);
                return ((await Tenant(tenantId).GetSnapshotAsync()).Budget, null);
            case TenantChangeStatus.ConfigOwned:
                return (null, BudgetConfigOwned(tenantId));
            default:
                return (null, AdminErrors.TenantNotFound(tenantId));
        }
    }

    public static ProxyError InvalidId { get; } = AdminErrors.Invalid($"'id' is not a valid tenant id: {TenantIds.Rule}.", "id");

    public static ProxyError Exists(string tenantId) => AdminErrors.Conflict("tenant_exists", $"A tenant '{tenantId}' exists already.");

    public static ProxyError ConfigOwned(string tenantId) => AdminErrors.Conflict("config_owned", $"Tenant '{tenantId}' comes from the config; remove it there.");

    public static ProxyError BudgetConfigOwned(string tenantId) =>
        AdminErrors.Conflict("config_owned", $"Tenant '{tenantId}''s budget comes from the config; change it there.");

    private ITenantRegistryGrain Registry => grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
}
