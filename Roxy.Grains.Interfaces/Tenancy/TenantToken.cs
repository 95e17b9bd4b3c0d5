namespace Roxy.Grains.Tenancy;

/// <summary>A tenant token, known only by the SHA-256 of its secret.</summary>
[GenerateSerializer, Immutable, Alias("roxy.TenantToken")]
public sealed record TenantToken(
    [property: Id(0)] string Id,
    [property: Id(1)] string Hash,
    [property: Id(2)] TenantRole Role,
    [property: Id(3)] Owner Owner);
