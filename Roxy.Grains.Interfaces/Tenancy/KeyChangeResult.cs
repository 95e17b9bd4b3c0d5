using Roxy.Grains.Rotation;

namespace Roxy.Grains.Tenancy;

[GenerateSerializer, Immutable, Alias("roxy.KeyChangeResult")]
public sealed record KeyChangeResult(
    [property: Id(0)] KeyChangeStatus Status,
    [property: Id(1)] ProviderKey? Key);
