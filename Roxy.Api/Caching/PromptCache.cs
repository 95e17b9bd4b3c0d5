using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Caching;

/// <summary>
/// The frontend's side of the prompt cache (SPEC §7): decides whether a request is cached, looks it up in its shard
/// grain, and stores the answer once the relay has seen it whole. The cache never fails a request: a grain that does
/// not answer is a miss.
/// </summary>
public sealed class PromptCache(IGrainFactory grains, ResolvedConfig config, TimeProvider time, ILogger<PromptCache> logger)
{
    // Waiters of a single flight wait within the first-token budget, and inside Orleans' 30 s call timeout.
    private readonly TimeSpan _singleFlightWait = TimeSpan.FromSeconds(Math.Min(config.Raw.Server.FirstTokenTimeoutSec, 25));

    /// <summary>
    /// The plan for a routed request; null when the cache is not involved (disabled, embeddings, no-store,
    /// <c>n &gt; 1</c>, not deterministic under <c>mode: deterministic</c>). An error for a malformed directive.
    /// </summary>
    public ProxyError? Plan(ProxyRequest request, TenantSnapshot tenant, ResolvedRoute route, out CachePlan? plan)
    {
        plan = null;
        var invalid = CacheDirectives.Read(request.Http.Request.Headers, out var directives);
        if (invalid is not null)
        {
            return invalid;
        }

        var settings = tenant.Cache;
        if (!settings.Enabled || request.Operation != Providers.UpstreamOperation.ChatCompletions || !(directives.Lookup || directives.Store))
        {
            return null;
        }

        var headers = request.Messages is { } messages ? string.Concat(messages.AnthropicVersion, "\n", messages.AnthropicBeta) : null;
        var key = CacheKeys.Compute(request.Body.Memory, request.Sink.Protocol, tenant.TenantId, tenant.CacheGeneration, request.Model, route.KeyFingerprint, headers);
        if (key.Uncacheable is not null || (settings.DeterministicOnly && !key.Deterministic))
        {
            return null;
        }

        var ttl = TimeSpan.FromSeconds(directives.TtlSec ?? settings.TtlSec);
        plan = new CachePlan(
            new CacheEntryKey(tenant.TenantId, key.Hash, tenant.CacheGeneration, request.Model, route.Fingerprint),
            directives.Lookup, directives.Store, ttl, settings.MaxEntryBytes);
        return null;
    }

    /// <summary>Hit, lead or miss; a miss when the grain cannot be reached (logged), so the request goes upstream.</summary>
    public async Task<CacheLookup> LookupAsync(CachePlan plan)
    {
        try
        {
            return await Shard(plan.Key).LookupAsync(plan.Key, plan.Store ? _singleFlightWait : TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            logger.LogWarning("Prompt cache lookup failed ({Error}); the request goes upstream", ex.GetType().Name);
            return CacheLookup.Miss;
        }
    }

    /// <summary>Hands the answer to its shard without waiting (a one-way call): storing never delays the answer.</summary>
    public void Store(CachePlan plan, CachedCompletion entry)
    {
        var expiresAt = time.GetUtcNow() + plan.Ttl;
        Send("store", () => Shard(plan.Key).StoreAsync(plan.Key, entry, expiresAt));
    }

    /// <summary>The leader has no answer to store: the requests waiting on it go upstream themselves.</summary>
    public void Abandon(CachePlan plan) => Send("abandon", () => Shard(plan.Key).AbandonAsync(plan.Key.KeyHash));

    // GetGrain resolves the interface by reflection and parses type names on every call (a tenth of the strings a busy
    // frontend allocated): a tenant's 16 shard references are made once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IPromptCacheGrain[]> _shards = new(StringComparer.Ordinal);

    private IPromptCacheGrain Shard(CacheEntryKey key)
    {
        var first = key.KeyHash.Length > 0 ? key.KeyHash[0] : '\0';
        var digit = first is >= '0' and <= '9' ? first - '0' : first is >= 'a' and <= 'f' ? first - 'a' + 10 : -1;
        if (digit < 0)
        {
            return grains.GetGrain<IPromptCacheGrain>(GrainKeys.PromptCache(key.TenantId, key.KeyHash));
        }

        return _shards.GetOrAdd(key.TenantId, static (tenant, grains) =>
        {
            var shards = new IPromptCacheGrain[16];
            for (var i = 0; i < shards.Length; i++)
            {
                shards[i] = grains.GetGrain<IPromptCacheGrain>(GrainKeys.PromptCache(tenant, "0123456789abcdef"[i..(i + 1)]));
            }

            return shards;
        }, grains)[digit];
    }

    // A one-way call returns once the message is queued; one that cannot be sent is logged, never the request's failure
    // (it runs after the answer went out).
    private void Send(string what, Func<Task> call)
    {
        try
        {
            var sent = call();
            if (sent.IsFaulted)
            {
                logger.LogWarning("Prompt cache {Call} failed ({Error})", what, sent.Exception!.InnerException?.GetType().Name);
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            logger.LogWarning("Prompt cache {Call} failed ({Error})", what, ex.GetType().Name);
        }
    }
}
