namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class TokenRoutes
{
    public static RouteGroupBuilder MapTokenRoutes(this RouteGroupBuilder group) => group;
}
