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

    ValueTask<IReadOnlyList<TenantListing>> ITenantRegistryGrain.ListTenantsAsync() => throw new NotImplementedException();

    Task<bool> ITenantRegistryGrain.AddRuntimeTenantAsync(string tenantId) => throw new NotImplementedException();

    Task ITenantRegistryGrain.RemoveRuntimeTenantAsync(string tenantId) => throw new NotImplementedException();

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
        if (s.ConfigFingerprint != configFingerprint || !s.ConfiguredTenants.SequenceEqual(tenantIds) || !s.PendingRemoval.SequenceEqual(pending))
        {
            var (configured, fingerprint, removal) = (s.ConfiguredTenants, s.ConfigFingerprint, s.PendingRemoval);
            s.ConfiguredTenants = tenantIds.ToList();
            s.ConfigFingerprint = configFingerprint;
            s.PendingRemoval = pending;
            await WriteAsync(() => (s.ConfiguredTenants, s.ConfigFingerprint, s.PendingRemoval) = (configured, fingerprint, removal));
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
