namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class AuditRoutes
{
    public static RouteGroupBuilder MapAuditRoutes(this RouteGroupBuilder group) => group;
}
