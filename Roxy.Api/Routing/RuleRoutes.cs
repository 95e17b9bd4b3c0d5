namespace Roxy.Api.Routing;

/// <summary>
/// A rule's targets resolved to providers for one tenant snapshot (inference depends on the tenant's keys), built once
/// per snapshot: <see cref="Rotations"/>[i] tries target i first and the rest in order, so a request only picks one.
/// </summary>
internal sealed class RuleRoutes(long tenantVersion, ResolvedRoute[] rotations)
{
    public long TenantVersion { get; } = tenantVersion;

    /// <summary>Empty when no target has a provider; one entry for fallback.</summary>
    public ResolvedRoute[] Rotations { get; } = rotations;
}
