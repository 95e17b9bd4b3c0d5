using Roxy.Grains.Budgets;

namespace Roxy.Api.Configuration;

/// <summary>A tenant token: <see cref="Hash"/> is lowercase hex SHA-256 of the token, <see cref="Id"/> is "t-" + its first 10 chars.</summary>
/// <param name="Budget">The token's own cap; null when it has none.</param>
public sealed record ResolvedToken(string Id, string Hash, string Role, BudgetLimits? Budget = null);
