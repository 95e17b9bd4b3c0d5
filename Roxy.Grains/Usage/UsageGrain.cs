using Microsoft.Extensions.Logging;

namespace Roxy.Grains.Usage;

/// <summary>
/// A tenant's usage and cost. Frontends report deltas about once a second; they are summed in memory per row and the
/// rows that changed are added to PostgreSQL in one statement every <see cref="WritePeriod"/> and on deactivation. A
/// failed write keeps its rows in memory, merged with what arrives meanwhile, and is tried again next period.
/// </summary>
public sealed class UsageGrain(UsageStore store, ILogger<UsageGrain> logger) : Grain, IUsageGrain
{
    public static readonly TimeSpan WritePeriod = TimeSpan.FromSeconds(2);

    private Dictionary<(DateOnly, string, string, string, string), UsageDelta> _pending = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(static (grain, ct) => grain.WriteAsync(ct), this,
            new GrainTimerCreationOptions(WritePeriod, WritePeriod) { KeepAlive = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await WriteAsync(cancellationToken);
        if (_pending.Count > 0)
        {
            logger.LogError("Usage of tenant {Tenant} could not be saved before deactivation: {Rows} rows lost", this.GetPrimaryKeyString(), _pending.Count);
        }
    }

    Task IUsageGrain.RecordAsync(UsageDelta[] deltas)
    {
        foreach (var delta in deltas)
        {
            UsageRows.AddTo(_pending, delta);
        }

        return Task.CompletedTask;
    }

    async Task<IReadOnlyList<UsageDelta>> IUsageGrain.GetAsync(DateOnly firstDay, DateOnly lastDay)
    {
        if (firstDay > lastDay)
        {
            return [];
        }

        var rows = new Dictionary<(DateOnly, string, string, string, string), UsageDelta>();
        foreach (var stored in await store.ReadAsync(this.GetPrimaryKeyString(), firstDay, lastDay))
        {
            UsageRows.AddTo(rows, stored);
        }

        foreach (var pending in _pending.Values)
        {
            if (pending.Day >= firstDay && pending.Day <= lastDay)
            {
                UsageRows.AddTo(rows, pending);
            }
        }

        return [.. rows.Values];
    }

    async Task IUsageGrain.DeleteAllAsync()
    {
        _pending.Clear();
        await store.DeleteAsync(this.GetPrimaryKeyString());
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        var batch = _pending;
        _pending = [];
        try
        {
            await store.AddAsync(this.GetPrimaryKeyString(), batch.Values, cancellationToken);
        }
        catch (Exception ex)
        {
            // Nothing of the batch was added (one statement); it goes again with what arrived meanwhile.
            foreach (var row in _pending.Values)
            {
                UsageRows.AddTo(batch, row);
            }

            _pending = batch;
            logger.LogWarning(ex, "Could not save the usage of tenant {Tenant} ({Rows} rows); kept in memory, tried again in {Period}",
                this.GetPrimaryKeyString(), batch.Count, WritePeriod);
        }
    }
}
