namespace Roxy.Api.Proxy;

/// <summary>
/// Sends the rotation grains deferred usage reports that no acquire picked up within a quarter second, and everything left at
/// shutdown, so token windows are corrected promptly even when a tenant goes quiet.
/// </summary>
public sealed class RotationReportFlusher(RotationGrains rotations, TimeProvider time, ILogger<RotationReportFlusher> logger) : BackgroundService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(MaxDelay / 2, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(force: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(force: true);
    }

    private async Task FlushAsync(bool force)
    {
        var now = time.GetTimestamp();
        var maxAge = (long)(MaxDelay.TotalSeconds * time.TimestampFrequency);
        foreach (var channel in rotations.All)
        {
            try
            {
                await channel.FlushAsync(now, maxAge, force);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not flush usage reports");
            }
        }
    }
}
