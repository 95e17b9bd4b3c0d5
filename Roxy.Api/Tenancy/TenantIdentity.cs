using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>Who is calling: the tenant a token opens, the token's id (never the token) and its role.</summary>
public sealed record TenantIdentity(string TenantId, string TokenId, TenantRole Role);
