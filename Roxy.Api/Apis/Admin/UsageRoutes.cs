namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class UsageRoutes
{
    public static RouteGroupBuilder MapUsageRoutes(this RouteGroupBuilder group) => group;
}
