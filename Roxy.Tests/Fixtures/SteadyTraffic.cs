using System.Diagnostics;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Requests sent at a steady pace while a fault is injected, each recorded with when it was sent and how it ended, so
/// a test asserts outcomes (statuses, nothing lost) rather than timings. A request that throws (a stream cut, a reset
/// connection) is recorded with status <see cref="Broken"/>.
/// </summary>
public sealed class SteadyTraffic : IDisposable
{
    /// <summary>The status recorded for a request whose answer never arrived whole.</summary>
    public const int Broken = -1;

    private readonly List<Task<Sent>> _requests = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>One request: its number, the second it was sent at, its status, and what the test marked it with.</summary>
    public sealed record Sent(int Index, double SentAt, int Status, string Phase, string? Detail);

    /// <summary>The phase new requests are marked with (e.g. "before", "outage", "after").</summary>
    public string Phase { get; set; } = "before";

    public double Now => _clock.Elapsed.TotalSeconds;

    /// <summary>Starts sending one request every <paramref name="every"/>; <paramref name="send"/> returns its status (and a detail).</summary>
    public void Start(TimeSpan every, Func<int, Task<(int Status, string? Detail)>> send)
    {
        _loop = Task.Run(async () =>
        {
            var due = _clock.Elapsed;
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                var index = i;
                var phase = Phase;
                var sentAt = Now;
                lock (_requests)
                {
                    _requests.Add(Task.Run(async () =>
                    {
                        try
                        {
                            var (status, detail) = await send(index);
                            return new Sent(index, sentAt, status, phase, detail);
                        }
                        catch (Exception ex)
                        {
                            return new Sent(index, sentAt, Broken, phase, ex.GetType().Name + ": " + ex.Message);
                        }
                    }));
                }

                due += every;
                var wait = due - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        });
    }

    /// <summary>Stops sending and waits for every request sent to end.</summary>
    public async Task<IReadOnlyList<Sent>> StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        Task<Sent>[] all;
        lock (_requests)
        {
            all = [.. _requests];
        }

        return await Task.WhenAll(all);
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>"200 x41, 429 x2" for failure messages.</summary>
    public static string Summary(IEnumerable<Sent> sent) =>
        string.Join(", ", sent.GroupBy(s => s.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"));
}
