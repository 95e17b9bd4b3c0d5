namespace Roxy.Grains.Tenancy;

/// <summary>What applying the YAML changed; <see cref="PreviousFingerprint"/> differing means config drift.</summary>
[GenerateSerializer, Immutable, Alias("roxy.ConfigApplyResult")]
public sealed record ConfigApplyResult(
    [property: Id(0)] string? PreviousFingerprint,
    [property: Id(1)] int Added,
    [property: Id(2)] int Changed,
    [property: Id(3)] int Removed);
