using System.Globalization;
using System.Security.Cryptography;
using Roxy.Api.Apis.Admin;
using Roxy.Api.Errors;
using Roxy.Api.Secrets;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Usage;

namespace Roxy.Api.Administration;

/// <summary>
/// Issuing, revoking and listing a tenant's tokens. A token is made here, shown once, and stored only as its SHA-256;
/// the frontend that changed a token refreshes its directory before answering, so a revoked token is refused here at
/// once (and by every other frontend at its next directory poll, <see cref="ConfigApplier"/>).
/// </summary>
public sealed class TokenAdministration(
    IGrainFactory grains,
    TokenAuthenticator authenticator,
    TenantSnapshotCache tenants,
    TimeProvider time,
    ILogger<TokenAdministration> logger)
{
    public const int MaxNameLength = 64;

    /// <summary>How far back <c>last_used</c> looks: the usage rows of the last 31 UTC days.</summary>
    public const int LastUsedDays = 31;

    /// <summary>A token just issued, with the secret this once.</summary>
    public sealed record Issued(TenantToken Token, string Secret);

    public async Task<(Issued? Issued, ProxyError? Error)> IssueAsync(AdminActor actor, string tenantId, string? role, string? name, BudgetLimits? budget)
    {
        TenantRole parsed;
        switch (role)
        {
            case "admin":
                parsed = TenantRole.Admin;
                break;
            case "member":
                parsed = TenantRole.Member;
                break;
            case null:
                return (null, AdminErrors.Invalid("'role' is required: admin or member.", "role"));
            default:
                return (null, AdminErrors.Invalid("'role' must be admin or member.", "role"));
        }

        if (name is not null && (name.Length > MaxNameLength || name.Any(char.IsControl)))
        {
            return (null, AdminErrors.Invalid($"'name' must be at most {MaxNameLength} characters, without control characters.", "name"));
        }

        var tenant = Tenant(tenantId);
        var snapshot = await tenant.GetSnapshotAsync();
        if (budget is not null && OverTenant(budget, snapshot.Budget) is { } over)
        {
            return (null, over);
        }

        if (OverCaller(actor, budget, snapshot) is { } escapes)
        {
            return (null, escapes);
        }

        // 32 random bytes: no guessing; the prefix lets secret scanners and people recognise a Roxy token.
        var secret = "roxy-" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var hash = SecretFingerprint.OfToken(secret);
        var token = new TenantToken("t-" + hash[..10], hash, parsed, Owner.Runtime, name, time.GetUtcNow(), budget);
        var audit = actor.Audit(time, $"issue token {token.Id} ({role}{(name is null ? "" : $", name '{name}'")}{Describe(budget)})");
        var result = await tenant.IssueTokenAsync(token, audit);
        switch (result.Status)
        {
            case TokenChangeStatus.Done:
                await AfterChangeAsync(tenantId);
                return (new Issued(result.Token!, secret), null);
            case TokenChangeStatus.TenantNotFound:
                return (null, AdminErrors.TenantNotFound(tenantId));
            default:
                // Only a collision of 40 bits of a fresh random token's hash: vanishingly rare, and asking again works.
                return (null, AdminErrors.Conflict("token_collision", "A token with the same id exists; issue it again."));
        }
    }

    public async Task<ProxyError?> RevokeAsync(AdminActor actor, string tenantId, string tokenId)
    {
        var result = await Tenant(tenantId).RevokeTokenAsync(tokenId, actor.Audit(time, $"revoke token {tokenId}"));
        switch (result.Status)
        {
            case TokenChangeStatus.Done:
                await AfterChangeAsync(tenantId);
                return null;
            case TokenChangeStatus.ConfigOwned:
                return ConfigOwned(tokenId);
            case TokenChangeStatus.TenantNotFound:
                return AdminErrors.TenantNotFound(tenantId);
            default:
                return AdminErrors.NotFound("token", tokenId, "id");
        }
    }

    /// <summary>The tenant's tokens with when each was last used.</summary>
    public async Task<IReadOnlyList<(TenantToken Token, DateTimeOffset? LastUsed)>> ListAsync(string tenantId)
    {
        var snapshot = await Tenant(tenantId).GetSnapshotAsync();
        var lastUsed = await LastUsedAsync(tenantId);
        return snapshot.Tokens.Select(t => (t, lastUsed.TryGetValue(t.Id, out var at) ? at : (DateTimeOffset?)null)).ToArray();
    }

    /// <summary>A token's limit above its tenant's of the same window (SPEC §6: a token's budget is at most its tenant's).</summary>
    public static ProxyError? OverTenant(BudgetLimits token, BudgetLimits? tenant)
    {
        if (tenant?.DailyUsd is { } daily && token.DailyUsd > daily)
        {
            return AdminErrors.Invalid($"'budget.daily_usd' may not be above the tenant's daily budget ({daily} USD).", "budget.daily_usd");
        }

        if (tenant?.MonthlyUsd is { } monthly && token.MonthlyUsd > monthly)
        {
            return AdminErrors.Invalid($"'budget.monthly_usd' may not be above the tenant's monthly budget ({monthly} USD).", "budget.monthly_usd");
        }

        return null;
    }

    /// <summary>
    /// A budgeted token may issue only tokens held to its own limits (each window it has, at most as high): else it could
    /// spend past its budget through the token it issues. The operator is not limited.
    /// </summary>
    private static ProxyError? OverCaller(AdminActor actor, BudgetLimits? budget, TenantSnapshot snapshot)
    {
        if (actor.TokenId == AdminActor.OperatorTokenId
            || snapshot.Tokens.FirstOrDefault(t => t.Id == actor.TokenId)?.Budget is not { IsEmpty: false } own)
        {
            return null;
        }

        if (budget is null || budget.IsEmpty)
        {
            return AdminErrors.Invalid(
                $"'budget' is required: your token has a budget ({Limits(own)}), so a token it issues needs one too, at most as high.", "budget");
        }

        if (own.DailyUsd is { } daily && !(budget.DailyUsd <= daily))
        {
            return AdminErrors.Invalid($"'budget.daily_usd' is required and may not be above your token's daily budget ({daily} USD).", "budget.daily_usd");
        }

        if (own.MonthlyUsd is { } monthly && !(budget.MonthlyUsd <= monthly))
        {
            return AdminErrors.Invalid($"'budget.monthly_usd' is required and may not be above your token's monthly budget ({monthly} USD).", "budget.monthly_usd");
        }

        return null;
    }

    /// <summary>A budget for the audit log: "daily 5 / monthly none USD".</summary>
    public static string Limits(BudgetLimits budget) =>
        $"daily {budget.DailyUsd?.ToString(CultureInfo.InvariantCulture) ?? "none"} / monthly {budget.MonthlyUsd?.ToString(CultureInfo.InvariantCulture) ?? "none"} USD";

    private static string Describe(BudgetLimits? budget) => budget is null ? "" : ", budget " + Limits(budget);

    private async Task<Dictionary<string, DateTimeOffset>> LastUsedAsync(string tenantId)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        try
        {
            var rows = await grains.GetGrain<IUsageGrain>(GrainKeys.Usage(tenantId)).GetAsync(today.AddDays(1 - LastUsedDays), today);
            return rows.GroupBy(r => r.TokenId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Max(r => r.LastAt), StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The listing is still right without it: last_used shows null.
            logger.LogWarning(ex, "Could not read the usage of tenant {Tenant} for its tokens' last use", tenantId);
            return [];
        }
    }

    public static ProxyError ConfigOwned(string tokenId) => AdminErrors.Conflict("config_owned", $"Token {tokenId} comes from the config; remove it there.");

    /// <summary>
    /// After a change to the tenant's tokens (or the tenant itself): this frontend refuses a revoked token (and accepts
    /// an issued one) from its next request on.
    /// </summary>
    public async Task AfterChangeAsync(string tenantId)
    {
        await authenticator.RefreshAsync(force: true);
        await tenants.ReloadAsync(tenantId);
    }

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
