namespace Roxy.Grains.Tenancy;

[GenerateSerializer, Immutable, Alias("roxy.TokenChangeResult")]
public sealed record TokenChangeResult(
    [property: Id(0)] TokenChangeStatus Status,
    [property: Id(1)] TenantToken? Token);
