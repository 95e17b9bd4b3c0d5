namespace Roxy.Grains.Tenancy;

public sealed class TenantRegistryGrain(
    [PersistentState("registry", RoxyStorage.Name)] IPersistentState<TenantRegistryState> state)
    : Grain, ITenantRegistryGrain
{
    private TokenDirectory? _directory;

    ValueTask<TokenDirectory> ITenantRegistryGrain.GetTokenDirectoryAsync() =>
        ValueTask.FromResult(_directory ??= BuildDirectory());

    ValueTask<long> ITenantRegistryGrain.GetVersionAsync() => ValueTask.FromResult(state.State.Version);

    ValueTask<string?> ITenantRegistryGrain.GetConfigFingerprintAsync() => ValueTask.FromResult(state.State.ConfigFingerprint);

    ValueTask<IReadOnlyList<TenantListing>> ITenantRegistryGrain.ListTenantsAsync()
    {
        var s = state.State;
        var listing = s.ConfiguredTenants.Select(t => new TenantListing(t, Owner.Config, TokenCount(t)))
            .Concat(s.RuntimeTenants.Select(t => new TenantListing(t, Owner.Runtime, TokenCount(t))))
            .OrderBy(t => t.Id, StringComparer.Ordinal)
            .ToArray();
        return ValueTask.FromResult<IReadOnlyList<TenantListing>>(listing);
    }

    async Task<bool> ITenantRegistryGrain.AddRuntimeTenantAsync(string tenantId)
    {
        var s = state.State;
        if (s.ConfiguredTenants.Contains(tenantId, StringComparer.Ordinal) || s.RuntimeTenants.Contains(tenantId, StringComparer.Ordinal))
        {
            return false;
        }

        s.RuntimeTenants.Add(tenantId);
        await WriteAsync(() => s.RuntimeTenants.Remove(tenantId));
        return true;
    }

    async Task ITenantRegistryGrain.RemoveRuntimeTenantAsync(string tenantId)
    {
        var s = state.State;
        var listed = s.RuntimeTenants.Contains(tenantId, StringComparer.Ordinal);
        var hadTokens = s.TokensByTenant.TryGetValue(tenantId, out var tokens);
        // A config tenant keeps its entry: only what was created at run time is forgotten here.
        if (!listed)
        {
            return;
        }

        var runtime = s.RuntimeTenants;
        s.RuntimeTenants = runtime.Where(t => t != tenantId).ToList();
        s.TokensByTenant.Remove(tenantId);
        if (hadTokens)
        {
            s.Version++;
        }

        await WriteAsync(() =>
        {
            s.RuntimeTenants = runtime;
            if (hadTokens)
            {
                s.TokensByTenant[tenantId] = tokens!;
                s.Version--;
            }
        });
        _directory = null;
    }

    async Task ITenantRegistryGrain.SetTenantTokensAsync(string tenantId, IReadOnlyList<TenantToken> tokens)
    {
        var s = state.State;
        var had = s.TokensByTenant.TryGetValue(tenantId, out var current);
        if (had && current!.SequenceEqual(tokens))
        {
            return;
        }

        s.TokensByTenant[tenantId] = tokens.ToList();
        s.Version++;
        await WriteAsync(() =>
        {
            if (had)
            {
                s.TokensByTenant[tenantId] = current!;
            }
            else
            {
                s.TokensByTenant.Remove(tenantId);
            }

            s.Version--;
        });
        _directory = null;
    }

    async Task<IReadOnlyList<string>> ITenantRegistryGrain.SetConfiguredTenantsAsync(
        IReadOnlyList<string> tenantIds, string configFingerprint)
    {
        var s = state.State;
        // A dropped tenant stays pending until the applier has emptied it (CompleteRemovalAsync): a start that dies in
        // between leaves it to the next start instead of forgetting it with its tokens still valid.
        var pending = s.ConfiguredTenants.Concat(s.PendingRemoval).Except(tenantIds, StringComparer.Ordinal).Distinct(StringComparer.Ordinal).ToList();
        // A runtime tenant the YAML now names becomes a config tenant (its grain's config apply takes it over).
        var runtime = s.RuntimeTenants.Except(tenantIds, StringComparer.Ordinal).ToList();
        if (s.ConfigFingerprint != configFingerprint || !s.ConfiguredTenants.SequenceEqual(tenantIds) || !s.PendingRemoval.SequenceEqual(pending)
            || runtime.Count != s.RuntimeTenants.Count)
        {
            var (configured, fingerprint, removal, runtimeBefore) = (s.ConfiguredTenants, s.ConfigFingerprint, s.PendingRemoval, s.RuntimeTenants);
            s.ConfiguredTenants = tenantIds.ToList();
            s.ConfigFingerprint = configFingerprint;
            s.PendingRemoval = pending;
            s.RuntimeTenants = runtime;
            await WriteAsync(() => (s.ConfiguredTenants, s.ConfigFingerprint, s.PendingRemoval, s.RuntimeTenants) = (configured, fingerprint, removal, runtimeBefore));
        }

        return pending;
    }

    async Task ITenantRegistryGrain.CompleteRemovalAsync(string tenantId)
    {
        var s = state.State;
        if (!s.PendingRemoval.Contains(tenantId, StringComparer.Ordinal))
        {
            return;
        }

        var before = s.PendingRemoval;
        s.PendingRemoval = before.Where(t => t != tenantId).ToList();
        await WriteAsync(() => s.PendingRemoval = before);
    }

    private int TokenCount(string tenantId) => state.State.TokensByTenant.TryGetValue(tenantId, out var tokens) ? tokens.Count : 0;

    /// <summary>
    /// Writes the state; on failure puts memory back as it was, so no frontend is handed a directory version that
    /// storage never held (a later, different change would reuse the number and frontends would skip it).
    /// </summary>
    private async Task WriteAsync(Action undo)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            undo();
            throw;
        }
    }

    private TokenDirectory BuildDirectory()
    {
        var entries = new List<TokenEntry>();
        foreach (var (tenantId, tokens) in state.State.TokensByTenant)
        {
            foreach (var token in tokens)
            {
                entries.Add(new TokenEntry(token.Hash, tenantId, token.Id, token.Role));
            }
        }

        return new TokenDirectory(state.State.Version, entries);
    }
}
