namespace Roxy.Grains.Tenancy;

[GenerateSerializer, Immutable, Alias("roxy.CacheSettings")]
public sealed record CacheSettings(
    [property: Id(0)] bool Enabled,
    [property: Id(1)] int TtlSec,
    [property: Id(2)] bool DeterministicOnly,
    [property: Id(3)] int MaxEntryBytes = CacheSettings.DefaultMaxEntryBytes)
{
    public const int DefaultMaxEntryBytes = 1024 * 1024;
}
