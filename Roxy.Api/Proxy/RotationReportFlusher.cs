using Roxy.Api.Hosting;

namespace Roxy.Api.Proxy;

/// <summary>
/// Sends the rotation grains the deferred usage reports that no acquire picked up within a quarter second, and everything
/// left at shutdown, so token windows are corrected promptly even when a tenant goes quiet.
/// </summary>
public sealed class RotationReportFlusher(RotationGrains rotations, TimeProvider time, ILogger<RotationReportFlusher> logger)
    : PeriodicFlusher(MaxDelay / 2, time)
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(250);

    protected override Task FlushOnceAsync(bool final) => FlushAsync(force: final);

    private async Task FlushAsync(bool force)
    {
        var now = Time.GetTimestamp();
        var maxAge = (long)(MaxDelay.TotalSeconds * Time.TimestampFrequency);
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
