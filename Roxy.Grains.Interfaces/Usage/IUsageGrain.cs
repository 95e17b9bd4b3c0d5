using Orleans.Concurrency;

namespace Roxy.Grains.Usage;

/// <summary>
/// A tenant's usage and cost (key: the tenant id): frontends report deltas every second, the grain adds them up in
/// memory and writes them to PostgreSQL in batches (one upsert per row that changed, every few seconds), never a write
/// per request.
/// </summary>
[Alias("roxy.IUsageGrain")]
public interface IUsageGrain : IGrainWithStringKey
{
    [Alias("Record"), OneWay]
    Task RecordAsync(IReadOnlyList<UsageDelta> deltas);

    /// <summary>Every row from <paramref name="firstDay"/> to <paramref name="lastDay"/> (UTC days, inclusive), stored and not yet stored alike.</summary>
    [Alias("Get")]
    Task<IReadOnlyList<UsageDelta>> GetAsync(DateOnly firstDay, DateOnly lastDay);

    /// <summary>Removes every row of the tenant (the tenant was deleted).</summary>
    [Alias("DeleteAll")]
    Task DeleteAllAsync();
}
