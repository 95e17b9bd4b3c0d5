using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Resolves a bearer token to its tenant from an in-memory copy of the registry's token directory: a dictionary
/// probe per request, no grain call; a token is hashed only the first time this copy sees it. The copy refreshes
/// in the background and on an unknown token (at most once a second, so random tokens cannot flood the registry).
/// </summary>
public sealed class TokenAuthenticator(IGrainFactory grains, TimeProvider time, ILogger<TokenAuthenticator> logger) : IDisposable
{
    private static readonly TimeSpan MissRefreshInterval = TimeSpan.FromSeconds(1);
    private volatile Directory _directory = Directory.Empty;
    private long _lastMissRefresh;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);

    public long Version => _directory.Version;

    /// <summary>Every tenant that has at least one token (only those can be used at all).</summary>
    public IReadOnlyCollection<string> TenantIds => _directory.TenantIds;

    public ValueTask<TenantIdentity?> AuthenticateAsync(HttpContext context)
    {
        var found = Find(context);
        return found is not null || !ShouldRefreshOnMiss(context)
            ? ValueTask.FromResult(found)
            : RefreshAndFindAsync(context);
    }

    private TenantIdentity? Find(HttpContext context)
    {
        var token = ExtractToken(context.Request);
        if (token.IsEmpty)
        {
            return null;
        }

        return _directory.Find(token);
    }

    private async ValueTask<TenantIdentity?> RefreshAndFindAsync(HttpContext context)
    {
        await RefreshAsync(force: false);
        return Find(context);
    }

    private bool ShouldRefreshOnMiss(HttpContext context)
    {
        if (ExtractToken(context.Request).IsEmpty)
        {
            return false;
        }

        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastMissRefresh);
        return time.GetElapsedTime(last, now) >= MissRefreshInterval
            && Interlocked.CompareExchange(ref _lastMissRefresh, now, last) == last;
    }

    public void Dispose() => _refreshLock.Dispose();

    public async Task RefreshAsync(bool force)
    {
        await _refreshLock.WaitAsync();
        try
        {
            var registry = grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);
            if (!force && await registry.GetVersionAsync() == _directory.Version && _directory.Version != 0)
            {
                return;
            }

            var directory = await registry.GetTokenDirectoryAsync();
            _directory = new Directory(directory);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not refresh the token directory; keeping the previous copy");
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>The bearer token or <c>x-api-key</c> of a request; empty when it carries neither.</summary>
    public static ReadOnlySpan<char> ExtractToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization[0].AsSpan().Trim();
            if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return value[7..].Trim();
            }
        }

        var apiKey = request.Headers["x-api-key"];
        return apiKey.Count > 0 ? apiKey[0].AsSpan().Trim() : default;
    }

    private sealed class Directory
    {
        public static readonly Directory Empty = new(new TokenDirectory(0, []));

        private readonly Dictionary<string, (byte[] Hash, TenantIdentity Identity)> _byHash;
        private readonly Dictionary<string, (byte[] Hash, TenantIdentity Identity)>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public Directory(TokenDirectory directory)
        {
            Version = directory.Version;
            _byHash = new Dictionary<string, (byte[], TenantIdentity)>(StringComparer.Ordinal);
            foreach (var entry in directory.Entries)
            {
                _byHash[entry.Hash] = (Convert.FromHexString(entry.Hash), new TenantIdentity(entry.TenantId, entry.TokenId, entry.Role));
            }

            _lookup = _byHash.GetAlternateLookup<ReadOnlySpan<char>>();
            _verifiedLookup = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
            TenantIds = directory.Entries.Select(e => e.TenantId).Distinct(StringComparer.Ordinal).ToArray();
        }

        public IReadOnlyCollection<string> TenantIds { get; }

        public long Version { get; }

        // Tokens that already matched, so a client's next request skips hashing. Only tokens that matched get in,
        // so it holds at most one string per directory entry; it goes away with this copy when tokens change. Keys
        // are secrets, so they are compared in fixed time like the hashes.
        private readonly ConcurrentDictionary<string, TenantIdentity> _verified = new(FixedTimeStringComparer.Instance);
        private readonly ConcurrentDictionary<string, TenantIdentity>.AlternateLookup<ReadOnlySpan<char>> _verifiedLookup;

        public TenantIdentity? Find(ReadOnlySpan<char> token)
        {
            if (_verifiedLookup.TryGetValue(token, out var known))
            {
                return known;
            }

            Span<byte> hash = stackalloc byte[32];
            HashToken(token, hash);
            var identity = FindByHash(hash);
            if (identity is not null && _verified.Count <= _byHash.Count)
            {
                _verified.TryAdd(token.ToString(), identity);
            }

            return identity;
        }

        private static void HashToken(ReadOnlySpan<char> token, Span<byte> hash)
        {
            var max = Encoding.UTF8.GetMaxByteCount(token.Length);
            var rented = max <= 512 ? null : new byte[max];
            Span<byte> utf8 = rented ?? stackalloc byte[512];
            var length = Encoding.UTF8.GetBytes(token, utf8);
            SHA256.HashData(utf8[..length], hash);
        }

        private TenantIdentity? FindByHash(ReadOnlySpan<byte> hash)
        {
            Span<char> hex = stackalloc char[64];
            Convert.TryToHexStringLower(hash, hex, out _);
            if (!_lookup.TryGetValue(hex, out var entry))
            {
                return null;
            }

            // The dictionary probe found a candidate; the final comparison does not leak timing.
            return CryptographicOperations.FixedTimeEquals(entry.Hash, hash) ? entry.Identity : null;
        }
    }
}
