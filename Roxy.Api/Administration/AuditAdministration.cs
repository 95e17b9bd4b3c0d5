using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>A tenant's audit log, newest first, for <c>#roxy audit</c> and <c>GET /admin/tenants/{tenant}/audit</c>.</summary>
public sealed class AuditAdministration(IGrainFactory grains)
{
    public const int DefaultCount = 20;
    public const int MaxCount = 1000;

    /// <summary>The last <paramref name="count"/> changes; null when the count is outside 1..<see cref="MaxCount"/>.</summary>
    public async Task<IReadOnlyList<AuditEntry>?> ReadAsync(string tenantId, int count) =>
        count is < 1 or > MaxCount ? null : await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetAuditAsync(count);
}
