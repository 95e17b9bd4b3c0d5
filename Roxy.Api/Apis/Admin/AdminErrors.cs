using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary>The admin API's own errors, in OpenAI's shape like the rest.</summary>
public static class AdminErrors
{
    public static ProxyError AdminTokenNeeded { get; } = new(
        StatusCodes.Status403Forbidden, "permission_error", "admin_token_required",
        "This route needs an admin token of the tenant (or the operator token); yours is a member token.");

    public static ProxyError OperatorTokenNeeded { get; } = new(
        StatusCodes.Status403Forbidden, "permission_error", "operator_token_required",
        "This route is for the operator: send ROXY_ADMIN_TOKEN as 'Authorization: Bearer <token>'.");

    public static ProxyError OperatorRoutesOff { get; } = new(
        StatusCodes.Status404NotFound, "invalid_request_error", "operator_routes_disabled",
        "The operator routes are off: set ROXY_ADMIN_TOKEN on every Roxy process and restart to enable them.");

    /// <summary>Also what an admin gets for another tenant's routes: as if the tenant did not exist.</summary>
    public static ProxyError TenantNotFound(string tenantId) => new(
        StatusCodes.Status404NotFound, "invalid_request_error", "tenant_not_found",
        $"There is no tenant '{Shorten(tenantId)}'.", "tenant");

    public static ProxyError NotFound(string what, string id, string param) => new(
        StatusCodes.Status404NotFound, "invalid_request_error", "not_found", $"There is no {what} '{Shorten(id)}'.", param);

    public static ProxyError Conflict(string code, string message) => new(StatusCodes.Status409Conflict, "invalid_request_error", code, message);

    public static ProxyError Invalid(string message, string? param) => ProxyError.InvalidRequest(message, param);

    // Ids come from the URL: echoed, but never at any length.
    private static string Shorten(string id) => id.Length > 64 ? id[..64] + "…" : id;
}
