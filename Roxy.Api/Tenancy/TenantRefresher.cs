namespace Roxy.Api.Tenancy;

/// <summary>
/// Polls the version of every tenant this frontend has cached (one small interleaving grain call each), so a change
/// made through any frontend, such as a rule added by chat, is served here within about half a second.
/// </summary>
public sealed class TenantRefresher(TenantSnapshotCache tenants, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await tenants.RefreshChangedAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
