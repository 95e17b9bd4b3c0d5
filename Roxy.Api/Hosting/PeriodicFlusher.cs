namespace Roxy.Api.Hosting;

/// <summary>
/// A frontend service that sends what it counted in memory every <paramref name="interval"/>, and once more when the
/// process stops, so nothing counted is left behind at shutdown (the usage, cache stats and rotation reports).
/// </summary>
public abstract class PeriodicFlusher(TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    /// <param name="final">True for the last flush, at shutdown.</param>
    protected abstract Task FlushOnceAsync(bool final);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushOnceAsync(final: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushOnceAsync(final: true);
    }
}
