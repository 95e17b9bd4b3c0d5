using Roxy.Grains.Budgets;

namespace Roxy.Grains.Tenancy;

/// <summary>A tenant token, known only by the SHA-256 of its secret.</summary>
/// <param name="Name">What an admin called an issued token (optional).</param>
/// <param name="Created">When it was issued; null for config tokens written before tokens had dates.</param>
/// <param name="Budget">The token's own cap, at most its tenant's (SPEC §6); null when it has none.</param>
[GenerateSerializer, Immutable, Alias("roxy.TenantToken")]
public sealed record TenantToken(
    [property: Id(0)] string Id,
    [property: Id(1)] string Hash,
    [property: Id(2)] TenantRole Role,
    [property: Id(3)] Owner Owner,
    [property: Id(4)] string? Name = null,
    [property: Id(5)] DateTimeOffset? Created = null,
    [property: Id(6)] BudgetLimits? Budget = null);
