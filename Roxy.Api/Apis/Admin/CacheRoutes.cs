namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class CacheRoutes
{
    public static RouteGroupBuilder MapCacheRoutes(this RouteGroupBuilder group) => group;
}
