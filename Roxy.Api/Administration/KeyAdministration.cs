using Roxy.Api.Commands;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Secrets;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>
/// Provider keys of a tenant: add, remove, enable, disable, list. <c>#roxy … key</c> commands and the
/// <c>/admin/tenants/{tenant}/keys</c> routes both call these, so both doors check, encrypt and audit alike.
/// </summary>
public sealed class KeyAdministration(
    ProviderRegistry providers, SecretProtector protector, RotationGrains rotations, IGrainFactory grains, TenantSnapshotCache tenants, TimeProvider time)
{
    public const long DefaultRpm = 500;
    public const long DefaultTpm = 200_000;
    public const long DefaultCooldown = 60;

    public IEnumerable<string> ProviderNames => providers.All.Select(p => p.Name);

    /// <summary>
    /// Checks, fingerprints, masks and encrypts <paramref name="secret"/>, then adds it as a runtime key. The secret
    /// reaches nothing but <see cref="SecretProtector"/>: the audit entry and the result carry only the mask.
    /// </summary>
    public async Task<KeyAddResult> AddAsync(AdminActor actor, string tenantId, string provider, string secret, long? rpm, long? tpm, long? cooldown)
    {
        provider = provider.ToLowerInvariant();
        if (!providers.IsKnown(provider))
        {
            return new KeyAddResult(KeyAddStatus.UnknownProvider);
        }

        var (maxRpm, maxTpm, cooldownSec) = (rpm ?? DefaultRpm, tpm ?? DefaultTpm, cooldown ?? DefaultCooldown);
        if ((Below("rpm", maxRpm, 1) ?? Below("tpm", maxTpm, 1) ?? Below("cooldown", cooldownSec, 0)) is { } invalid)
        {
            return invalid;
        }

        if (cooldownSec > int.MaxValue)
        {
            return new KeyAddResult(KeyAddStatus.InvalidLimit, Limit: "cooldown", Minimum: 0, Given: cooldownSec);
        }

        if (secret.Length < 8)
        {
            return new KeyAddResult(KeyAddStatus.NotAKey);
        }

        if (!protector.CanEncrypt)
        {
            return new KeyAddResult(KeyAddStatus.NoMasterKey, Problem: protector.ConfigurationProblem);
        }

        var fingerprint = SecretFingerprint.OfKey(secret);
        var keyId = "k-" + fingerprint[..10];
        var mask = KeyMask.Of(secret);
        var key = new ProviderKey(
            keyId, provider, fingerprint, KeySource.Chat, protector.Encrypt(secret, tenantId, keyId), mask,
            maxRpm, maxTpm, (int)cooldownSec, Owner.Runtime, Enabled: true, DisabledReason: null);
        var result = await Tenant(tenantId).AddKeyAsync(key, actor.Audit(time, $"add key {provider} {mask} rpm={maxRpm} tpm={maxTpm} cooldown={cooldownSec}"));
        switch (result.Status)
        {
            case KeyChangeStatus.Done:
                await tenants.ReloadAsync(tenantId);
                return new KeyAddResult(KeyAddStatus.Added, result.Key ?? key);
            case KeyChangeStatus.AlreadyPresent:
                return new KeyAddResult(KeyAddStatus.AlreadyPresent, result.Key);
            case KeyChangeStatus.TenantNotFound:
                return new KeyAddResult(KeyAddStatus.TenantNotFound);
            default:
                return new KeyAddResult(KeyAddStatus.HeldByAnotherTenant);
        }

        static KeyAddResult? Below(string limit, long value, long minimum) =>
            value < minimum ? new KeyAddResult(KeyAddStatus.InvalidLimit, Limit: limit, Minimum: minimum, Given: value) : null;
    }

    /// <summary>Removes a runtime key, found by id or by its secret (compared by fingerprint); with a provider, only that provider's.</summary>
    public async Task<KeyChangeOutcome> RemoveAsync(AdminActor actor, string tenantId, string? provider, string keyOrId)
    {
        var lookup = IsKeyId(keyOrId) ? keyOrId : SecretFingerprint.OfKey(keyOrId);
        var tenant = Tenant(tenantId);
        var snapshot = await tenant.GetSnapshotAsync();
        if (!snapshot.Exists)
        {
            return new KeyChangeOutcome(KeyChangeOutcomeStatus.TenantNotFound, null);
        }

        var key = snapshot.Keys.FirstOrDefault(k => k.Id == lookup || k.Fingerprint == lookup);
        if (key is null || (provider is not null && !string.Equals(key.Provider, provider, StringComparison.OrdinalIgnoreCase)))
        {
            return new KeyChangeOutcome(KeyChangeOutcomeStatus.NotFound, null);
        }

        var result = await tenant.RemoveKeyAsync(key.Id, actor.Audit(time, $"remove key {key.Provider} {key.Id} ({key.Mask})"));
        var row = Row(key, null);
        switch (result.Status)
        {
            case KeyChangeStatus.Done:
                await tenants.ReloadAsync(tenantId);
                return new KeyChangeOutcome(KeyChangeOutcomeStatus.Done, row);
            case KeyChangeStatus.ConfigOwned:
                return new KeyChangeOutcome(KeyChangeOutcomeStatus.ConfigOwned, row);
            case KeyChangeStatus.TenantNotFound:
                return new KeyChangeOutcome(KeyChangeOutcomeStatus.TenantNotFound, null);
            default:
                return new KeyChangeOutcome(KeyChangeOutcomeStatus.NotFound, null);
        }
    }

    /// <summary>Takes a key in or out of rotation; the outcome's row is the key as listed afterwards.</summary>
    public async Task<KeyChangeOutcome> SetEnabledAsync(AdminActor actor, string tenantId, string keyId, bool enabled)
    {
        var verb = enabled ? "enable" : "disable";
        // Only a well-formed id goes into the audit log: anything else may be a secret typed in the wrong place.
        var shown = IsKeyId(keyId) ? keyId : "(not a key id)";
        var tenant = Tenant(tenantId);
        if (!IsKeyId(keyId) || !await tenant.SetKeyEnabledAsync(keyId, enabled, enabled ? null : "admin", actor.Audit(time, $"{verb} key {shown}")))
        {
            // False for a missing key and for a missing tenant alike; the snapshot tells which.
            var exists = (await tenant.GetSnapshotAsync()).Exists;
            return new KeyChangeOutcome(exists ? KeyChangeOutcomeStatus.NotFound : KeyChangeOutcomeStatus.TenantNotFound, null);
        }

        await tenants.ReloadAsync(tenantId);
        var row = (await ListAsync(tenantId)).FirstOrDefault(r => r.Key.Id == keyId);
        return new KeyChangeOutcome(row is null ? KeyChangeOutcomeStatus.NotFound : KeyChangeOutcomeStatus.Done, row);
    }

    /// <summary>Every key of the tenant with its live state and use this minute, ordered by provider and id.</summary>
    public async Task<IReadOnlyList<KeyRow>> ListAsync(string tenantId)
    {
        var snapshot = await Tenant(tenantId).GetSnapshotAsync();
        var usage = await KeyUsages.ForAsync(rotations, tenantId, snapshot.Keys);
        var now = time.GetUtcNow();
        return snapshot.Keys
            .OrderBy(k => k.Provider, StringComparer.Ordinal).ThenBy(k => k.Id, StringComparer.Ordinal)
            .Select(k =>
            {
                usage.TryGetValue(k.Id, out var use);
                return Row(k, use, now);
            })
            .ToArray();
    }

    /// <summary>Key ids are <c>k-</c> and ten hex digits of the secret's fingerprint.</summary>
    public static bool IsKeyId(string text) =>
        text.Length == 12 && text.StartsWith("k-", StringComparison.Ordinal) && !text.AsSpan(2).ContainsAnyExcept(LowerHex);

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private KeyRow Row(ProviderKey key, KeyUsage? use) => Row(key, use, time.GetUtcNow());

    private static KeyRow Row(ProviderKey key, KeyUsage? use, DateTimeOffset now) => new(
        key, KeyUsages.State(key, use, now), use?.RequestsInWindow ?? 0, use?.TokensInWindow ?? 0,
        key.Source switch
        {
            KeySource.Env => "env",
            KeySource.Config => "config",
            _ => KeyRow.Runtime,
        },
        key.Source is KeySource.Env or KeySource.Config ? key.SecretRef : null);

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
}
