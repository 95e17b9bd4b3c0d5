namespace Roxy.Grains.Tenancy;

/// <summary>One row of the token directory: which tenant a token hash opens, and with which role.</summary>
[GenerateSerializer, Immutable, Alias("roxy.TokenEntry")]
public sealed record TokenEntry(
    [property: Id(0)] string Hash,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string TokenId,
    [property: Id(3)] TenantRole Role);
