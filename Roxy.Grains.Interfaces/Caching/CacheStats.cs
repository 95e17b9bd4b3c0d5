namespace Roxy.Grains.Caching;

/// <summary>A tenant's cache as SPEC §7 reports it. Entries and bytes count what the current generation can reach.</summary>
[GenerateSerializer, Immutable, Alias("roxy.CacheStats")]
public sealed record CacheStats(
    [property: Id(0)] long Entries,
    [property: Id(1)] long Bytes,
    [property: Id(2)] long Hits,
    [property: Id(3)] long Misses,
    [property: Id(4)] IReadOnlyList<ModelSavings> Savings)
{
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
