using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>SPEC §7's stats of a tenant's cache with its settings, and the estimated cost saved per answering model.</summary>
public sealed record CacheReport(CacheSettings Settings, CacheStats Stats, IReadOnlyList<CacheSaving> Savings)
{
    public decimal SavedUsd => Savings.Sum(s => s.SavedUsd ?? 0);

    /// <summary>Models whose savings are counted as $0 because they have no price.</summary>
    public IEnumerable<string> Unpriced => Savings.Where(s => s.SavedUsd is null).Select(s => s.Model.Model).Distinct(StringComparer.Ordinal);
}

/// <summary>One model's hits and tokens saved; <see cref="SavedUsd"/> is null when the model has no price.</summary>
public sealed record CacheSaving(ModelSavings Model, decimal? SavedUsd);
