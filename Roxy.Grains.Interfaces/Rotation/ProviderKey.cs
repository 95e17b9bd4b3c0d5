using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Rotation;

/// <summary>
/// A provider API key as the cluster knows it. <see cref="SecretRef"/> is never the plaintext:
/// an environment variable name for env/config keys, ciphertext for keys added at run time.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.ProviderKey")]
public sealed record ProviderKey(
    [property: Id(0)] string Id,
    [property: Id(1)] string Provider,
    [property: Id(2)] string Fingerprint,
    [property: Id(3)] KeySource Source,
    [property: Id(4)] string SecretRef,
    [property: Id(5)] string Mask,
    [property: Id(6)] long MaxRpm,
    [property: Id(7)] long MaxTpm,
    [property: Id(8)] int CooldownSec,
    [property: Id(9)] Owner Owner,
    [property: Id(10)] bool Enabled,
    [property: Id(11)] string? DisabledReason);
