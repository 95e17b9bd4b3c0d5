namespace Roxy.Grains.Caching;

/// <summary>A tenant's cache counters since its first lookup; entries and bytes are counted in the table instead.</summary>
[GenerateSerializer]
public sealed class CacheStatsState
{
    [Id(0)] public long Hits { get; set; }
    [Id(1)] public long Misses { get; set; }

    /// <summary>One per answering (provider, model); a tenant has few, so a list beats a keyed map here.</summary>
    [Id(2)] public List<ModelSavings> Savings { get; set; } = [];
}
