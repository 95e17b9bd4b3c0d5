using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Roxy.Grains.Caching;

/// <summary>
/// One shard of a tenant's prompt cache. A lookup answers from the silo's memory tier; otherwise it reads PostgreSQL
/// once, with this caller marked as the one fetching the key, so identical lookups arriving meanwhile wait for its
/// answer instead of reading or going upstream themselves. Entries live in <see cref="PromptCacheMemory"/> and the
/// table, never in the grain: a shard holds only the keys being fetched right now.
/// </summary>
/// <remarks>
/// Reentrant, so a lookup waiting on PostgreSQL or on a leader holds up nothing. Every await is followed by a fresh
/// look at <see cref="_flights"/>: a store or an abandon may have run meanwhile. Single-flight times are wall-clock
/// (<see cref="Stopwatch"/>): they bound an upstream call, and a fake clock must not make waiters hang.
/// </remarks>
[Reentrant]
public sealed class PromptCacheGrain(
    PromptCacheMemory memory,
    PromptCacheStore store,
    PromptCacheWriter writer,
    TimeProvider time,
    IOptions<PromptCacheOptions> options,
    ILogger<PromptCacheGrain> logger) : Grain, IPromptCacheGrain
{
    private const int MinPruneAt = 64;

    private readonly Dictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private int _pruneAt = MinPruneAt;

    async Task<CacheLookup> IPromptCacheGrain.LookupAsync(CacheEntryKey key, TimeSpan singleFlightWait)
    {
        if (memory.TryGet(key.TenantId, key.KeyHash, out var held))
        {
            return new CacheLookup(CacheLookupStatus.Hit, held);
        }

        var wait = singleFlightWait > options.Value.MaxSingleFlightWait ? options.Value.MaxSingleFlightWait : singleFlightWait;
        if (wait <= TimeSpan.Zero)
        {
            // No single flight: every caller that finds nothing leads.
            var read = await ReadAsync(key);
            return read is { } found ? Hit(key, found) : CacheLookup.Lead;
        }

        if (_flights.TryGetValue(key.KeyHash, out var leading))
        {
            if (!leading.Lapsed)
            {
                return await WaitAsync(leading, wait);
            }

            // The leader never reported; whoever waited for it has given up by now. This caller takes over.
            _flights.Remove(key.KeyHash);
            leading.Resolve(null);
        }

        var flight = new Flight(wait);
        AddFlight(key.KeyHash, flight);
        var stored = await ReadAsync(key);
        if (stored is { } entry)
        {
            EndFlight(key.KeyHash, flight, entry.Entry);
            return Hit(key, entry);
        }

        // A store may have landed while the read was out (its row not yet written): serve it rather than lead.
        if (memory.TryGet(key.TenantId, key.KeyHash, out held))
        {
            EndFlight(key.KeyHash, flight, held);
            return new CacheLookup(CacheLookupStatus.Hit, held);
        }

        return CacheLookup.Lead; // the marker stays until Store, Abandon or its lapse
    }

    Task IPromptCacheGrain.StoreAsync(CacheEntryKey key, CachedCompletion entry, DateTimeOffset expiresAt)
    {
        if (_flights.Remove(key.KeyHash, out var flight))
        {
            flight.Resolve(entry);
        }

        var now = time.GetUtcNow();
        if (expiresAt <= now)
        {
            return Task.CompletedTask;
        }

        PromptCacheStore.HashBytes(key.KeyHash); // a malformed key fails this call, not a whole write batch
        memory.Set(key.TenantId, key.KeyHash, entry, expiresAt);
        writer.Enqueue(new PromptCacheRow(key, JsonSerializer.SerializeToUtf8Bytes(entry, PromptCacheJson.Default.CachedCompletion), expiresAt, now));
        return Task.CompletedTask;
    }

    Task IPromptCacheGrain.AbandonAsync(string keyHash)
    {
        if (_flights.Remove(keyHash, out var flight))
        {
            flight.Resolve(null);
        }

        return Task.CompletedTask;
    }

    private CacheLookup Hit(CacheEntryKey key, StoredEntry found)
    {
        memory.Set(key.TenantId, key.KeyHash, found.Entry, found.ExpiresAt);
        return new CacheLookup(CacheLookupStatus.Hit, found.Entry);
    }

    /// <summary>
    /// One indexed read within <see cref="PromptCacheOptions.ReadTimeout"/>; a failing or slow PostgreSQL makes it a
    /// miss, never an error the request sees nor a stall that holds the single-flight marker.
    /// </summary>
    private async Task<StoredEntry?> ReadAsync(CacheEntryKey key)
    {
        var timeout = options.Value.ReadTimeout;
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            return await store.ReadAsync(key.TenantId, key.KeyHash, time.GetUtcNow(), deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            logger.LogWarning("Prompt cache read timed out after {Timeout} for tenant {Tenant}; answering as a miss", timeout, key.TenantId);
            return null;
        }
        catch (Exception ex)
        {
            // The key hash and tenant only: the prompt never reaches this grain.
            logger.LogWarning(ex, "Prompt cache read failed for tenant {Tenant}; answering as a miss", key.TenantId);
            return null;
        }
    }

    private static async Task<CacheLookup> WaitAsync(Flight flight, TimeSpan wait)
    {
        try
        {
            var entry = await flight.Answer.WaitAsync(wait);
            return entry is null ? CacheLookup.Miss : new CacheLookup(CacheLookupStatus.Hit, entry);
        }
        catch (TimeoutException)
        {
            return CacheLookup.Miss;
        }
    }

    private void AddFlight(string keyHash, Flight flight)
    {
        // Leaders that never report and are never looked up again would pile up: drop the lapsed ones now and then.
        if (_flights.Count >= _pruneAt)
        {
            foreach (var (hash, old) in _flights)
            {
                if (old.Lapsed)
                {
                    _flights.Remove(hash);
                    old.Resolve(null);
                }
            }

            _pruneAt = Math.Max(MinPruneAt, _flights.Count * 2);
        }

        _flights[keyHash] = flight;
    }

    private void EndFlight(string keyHash, Flight flight, CachedCompletion entry)
    {
        if (_flights.TryGetValue(keyHash, out var current) && ReferenceEquals(current, flight))
        {
            _flights.Remove(keyHash);
        }

        flight.Resolve(entry);
    }

    /// <summary>One key being fetched: its waiters' answer, and when the lead lapses.</summary>
    private sealed class Flight(TimeSpan lease)
    {
        private readonly long _lapsesAt = Stopwatch.GetTimestamp() + (long)(lease.TotalSeconds * Stopwatch.Frequency);
        private readonly TaskCompletionSource<CachedCompletion?> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<CachedCompletion?> Answer => _answer.Task;

        public bool Lapsed => Stopwatch.GetTimestamp() >= _lapsesAt;

        public void Resolve(CachedCompletion? entry) => _answer.TrySetResult(entry);
    }
}
