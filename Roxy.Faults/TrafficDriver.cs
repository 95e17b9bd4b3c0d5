using System.Collections.Concurrent;
using System.Globalization;

namespace Roxy.Faults;

/// <summary>
/// Steady traffic through both frontends: each lane sends on its own schedule (open loop, bounded in flight) and every
/// answer is kept, in the order requests were sent, for the report.
/// </summary>
public sealed class TrafficDriver(RoxyClient client, Func<int, Uri> api) : IDisposable
{
    private readonly ConcurrentQueue<Outcome> _outcomes = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, double> _sentAt = new();
    private readonly List<Task> _lanes = [];
    private readonly CancellationTokenSource _stop = new();
    private long _sequence;

    /// <summary>Starts a lane; it runs until <see cref="StopAsync"/>.</summary>
    public void Start(Lane lane) => _lanes.Add(Task.Run(() => RunAsync(lane)));

    /// <summary>Streams (or any requests) of lanes on this frontend that have not answered yet.</summary>
    public int InFlight(int frontend, bool stream) => _inFlight.GetValueOrDefault(Key(frontend, stream));

    /// <summary>Every answer so far, by the time its request was sent.</summary>
    public IReadOnlyList<Outcome> Snapshot() => [.. _outcomes.OrderBy(o => o.SentAt)];

    /// <summary>
    /// The answers to every request sent before the oldest one still in flight: a prefix of the final record with no
    /// gaps, so a run of successes in it cannot hide a request that is still waiting (and may yet fail).
    /// </summary>
    public IReadOnlyList<Outcome> CompleteSnapshot()
    {
        var oldest = _sentAt.IsEmpty ? double.MaxValue : _sentAt.Values.DefaultIfEmpty(double.MaxValue).Min();
        return [.. _outcomes.Where(o => o.SentAt < oldest).OrderBy(o => o.SentAt)];
    }

    /// <summary>Stops sending and waits for every request in flight to answer (each is bounded by the client's timeout).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_lanes);
    }

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(Lane lane)
    {
        var interval = TimeSpan.FromSeconds(1 / lane.PerSecond);
        using var slots = new SemaphoreSlim(lane.MaxInFlight);
        var pending = new List<Task>();
        var next = DateTime.UtcNow;
        var turn = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await slots.WaitAsync(_stop.Token);
                var frontend = lane.Frontend != 0 ? lane.Frontend : 1 + (turn++ % 2);
                var id = Interlocked.Increment(ref _sequence);
                var prompt = string.Create(CultureInfo.InvariantCulture, $"fault drill {lane.Name} request {id}");
                pending.Add(SendAsync(lane, frontend, prompt, slots, id));
                pending.RemoveAll(t => t.IsCompleted);
                next += interval;
                var wait = next - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token);
                }
                else
                {
                    // Behind schedule (a full lane): carry on from now rather than send a burst to catch up.
                    next = DateTime.UtcNow;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }

        await Task.WhenAll(pending);
    }

    private async Task SendAsync(Lane lane, int frontend, string prompt, SemaphoreSlim slots, long id)
    {
        var key = Key(frontend, lane.Stream);
        _sentAt[id] = client.Now;
        _inFlight.AddOrUpdate(key, 1, (_, n) => n + 1);
        try
        {
            _outcomes.Enqueue(await client.ChatAsync(api(frontend), lane, frontend, prompt));
        }
        finally
        {
            _inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
            _sentAt.TryRemove(id, out _);
            slots.Release();
        }
    }

    private static string Key(int frontend, bool stream) => string.Create(CultureInfo.InvariantCulture, $"{frontend}:{stream}");
}
