namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class KeyRoutes
{
    public static RouteGroupBuilder MapKeyRoutes(this RouteGroupBuilder group) => group;
}
