namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class TenantRoutes
{
    public static RouteGroupBuilder MapTenantRoutes(this RouteGroupBuilder group) => group;
}
