using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Roxy.Grains.Caching;

/// <summary>
/// One shard of a tenant's prompt cache. A lookup answers from the silo's memory tier; otherwise, unless the shard
/// knows the key is not stored (<see cref="PromptCacheShard"/>: then it misses with no query), it reads PostgreSQL
/// once, with this caller marked as the one fetching the key, so identical lookups arriving meanwhile wait for its
/// answer instead of reading or going upstream themselves. Entries live in <see cref="PromptCacheMemory"/> and the
/// table, never in the grain: a shard holds the keys being fetched right now and the 8-byte prefixes of its rows.
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

    private const int RetryMillis = 5000;

    private readonly Dictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private int _pruneAt = MinPruneAt;
    private PromptCacheShard _shard = null!;
    private Task _housekeeping = Task.CompletedTask; // an open, load or confirmation in flight
    private long _retryAt; // Environment.TickCount64 before which a failed open or load is not tried again
    private bool _warned;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = new PromptCacheShard(this.GetPrimaryKeyString(), options.Value.AbsenceLease, time);
        return OpenAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The next activation bumps the epoch and then refuses this one's rows: let the queued ones land first.
        var until = Environment.TickCount64 + (long)options.Value.DeactivationFlushWait.TotalMilliseconds;
        while (_shard.PendingRows > 0 && Environment.TickCount64 < until && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(20, CancellationToken.None);
        }

        // Trusting nothing from here, it gives its lease back: the next activation need not wait it out.
        _shard.Close();
        if (_shard.Epoch != 0)
        {
            using var deadline = new CancellationTokenSource(options.Value.ReadTimeout);
            try
            {
                await store.ReleaseLeaseAsync(_shard.Id, _shard.Epoch, deadline.Token);
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "Could not release the lease of prompt cache shard {Shard}; it lapses instead", _shard.Id);
            }
        }
    }

    async Task<CacheLookup> IPromptCacheGrain.LookupAsync(CacheEntryKey key, TimeSpan singleFlightWait)
    {
        if (memory.TryGet(key.TenantId, key.KeyHash, out var held))
        {
            return new CacheLookup(CacheLookupStatus.Hit, held);
        }

        Housekeep();
        var absent = _shard.KnowsAbsent(key.KeyHash);
        var wait = singleFlightWait > options.Value.MaxSingleFlightWait ? options.Value.MaxSingleFlightWait : singleFlightWait;
        if (wait <= TimeSpan.Zero)
        {
            // No single flight: every caller that finds nothing leads.
            if (absent)
            {
                return CacheLookup.Lead;
            }

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
        if (absent)
        {
            return CacheLookup.Lead; // not stored: nothing to read
        }

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
        _shard.Stored(key.KeyHash, expiresAt); // before its row is queued: the set never lags a row of this epoch
        memory.Set(key.TenantId, key.KeyHash, entry, expiresAt);
        writer.Enqueue(new PromptCacheRow(key, JsonSerializer.SerializeToUtf8Bytes(entry, PromptCacheJson.Default.CachedCompletion), expiresAt, now, _shard));
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

    /// <summary>Bumps the epoch, then reads the shard's live keys; a failure leaves reads on every miss until a retry.</summary>
    private async Task OpenAsync()
    {
        using var deadline = new CancellationTokenSource(options.Value.ReadTimeout);
        try
        {
            var sent = time.GetTimestamp();
            var (epoch, previousLease) = await store.BumpEpochAsync(_shard.Id, options.Value.AbsenceLease, deadline.Token);
            _shard.Opened(epoch, sent, time.GetTimestamp(), previousLease);
        }
        catch (Exception ex)
        {
            Failed(ex, "open");
            return;
        }

        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        // The grain key is GrainKeys.PromptCache: the tenant, '/', the keys' first hex digit.
        var id = _shard.Id;
        var digit = Convert.ToInt32(id[^1..], 16);
        using var deadline = new CancellationTokenSource(options.Value.ReadTimeout);
        try
        {
            _shard.Loaded(await store.LiveKeysAsync(id[..^2], digit, time.GetUtcNow(), PromptCacheShard.MaxKeys, deadline.Token));
        }
        catch (Exception ex)
        {
            Failed(ex, "load the keys of");
        }
    }

    /// <summary>Starts an open, load or lease confirmation in the background when one is due; the lookup never waits.</summary>
    private void Housekeep()
    {
        if (!_housekeeping.IsCompleted)
        {
            return;
        }

        var due = _shard.Epoch == 0 || _shard.WantsLoad ? Environment.TickCount64 >= _retryAt : _shard.WantsConfirmation(time.GetTimestamp());
        if (due)
        {
            _housekeeping = HousekeepAsync();
        }
    }

    private async Task HousekeepAsync()
    {
        if (_shard.Epoch == 0)
        {
            await OpenAsync();
            return;
        }

        if (_shard.WantsLoad)
        {
            await LoadAsync();
            return;
        }

        var sent = time.GetTimestamp();
        using var deadline = new CancellationTokenSource(options.Value.ReadTimeout);
        try
        {
            _shard.Renewed(await store.RenewLeaseAsync(_shard.Id, _shard.Epoch, options.Value.AbsenceLease, deadline.Token), sent);
        }
        catch (Exception ex)
        {
            Failed(ex, "renew the lease of");
            return;
        }

        if (_shard.Superseded)
        {
            // Another activation of this shard started since: it owns the rows now, and this one goes.
            logger.LogInformation("Prompt cache shard {Shard} was superseded by a newer activation; deactivating", _shard.Id);
            this.DeactivateOnIdle();
        }
    }

    private void Failed(Exception ex, string what)
    {
        _retryAt = Environment.TickCount64 + RetryMillis;
        if (!_warned)
        {
            // Once per activation: misses read PostgreSQL meanwhile, which logs its own failures.
            _warned = true;
            logger.LogWarning(ex, "Could not {What} prompt cache shard {Shard}; its misses read PostgreSQL until it can", what, _shard.Id);
        }
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
