namespace Roxy.Api.Apis.Admin;

/// <summary>Seam: filled by the helper that owns these routes.</summary>
public static class RuleRoutes
{
    public static RouteGroupBuilder MapRuleRoutes(this RouteGroupBuilder group) => group;
}
