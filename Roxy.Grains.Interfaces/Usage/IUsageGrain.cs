namespace Roxy.Grains.Usage;

/// <summary>
/// A tenant's usage and cost (key: the tenant id): frontends report deltas every second, the grain adds them up in
/// memory and writes them to PostgreSQL in batches (one upsert per row that changed, every few seconds), never a write
/// per request.
/// </summary>
[Alias("roxy.IUsageGrain")]
public interface IUsageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds the deltas to the rows held in memory. Awaited, not one-way: a frontend whose call fails keeps the deltas and
    /// sends them with its next report. An array: a list typed as a read-only interface did not always arrive.
    /// </summary>
    [Alias("Record")]
    Task RecordAsync(UsageDelta[] deltas);

    /// <summary>Every row from <paramref name="firstDay"/> to <paramref name="lastDay"/> (UTC days, inclusive), stored and not yet stored alike.</summary>
    [Alias("Get")]
    Task<IReadOnlyList<UsageDelta>> GetAsync(DateOnly firstDay, DateOnly lastDay);

    /// <summary>Removes every row of the tenant (the tenant was deleted).</summary>
    [Alias("DeleteAll")]
    Task DeleteAllAsync();
}
