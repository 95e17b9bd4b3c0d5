namespace Roxy.Grains.Caching;

[GenerateSerializer, Immutable, Alias("roxy.CacheLookup")]
public sealed record CacheLookup(
    [property: Id(0)] CacheLookupStatus Status,
    [property: Id(1)] CachedCompletion? Entry)
{
    public static readonly CacheLookup Lead = new(CacheLookupStatus.Lead, null);
    public static readonly CacheLookup Miss = new(CacheLookupStatus.Miss, null);
}
