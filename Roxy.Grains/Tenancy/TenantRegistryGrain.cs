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

    async Task ITenantRegistryGrain.SetTenantTokensAsync(string tenantId, IReadOnlyList<TenantToken> tokens)
    {
        var s = state.State;
        if (s.TokensByTenant.TryGetValue(tenantId, out var current) && current.SequenceEqual(tokens))
        {
            return;
        }

        s.TokensByTenant[tenantId] = tokens.ToList();
        s.Version++;
        _directory = null;
        await state.WriteStateAsync();
    }

    async Task<IReadOnlyList<string>> ITenantRegistryGrain.SetConfiguredTenantsAsync(
        IReadOnlyList<string> tenantIds, string configFingerprint)
    {
        var s = state.State;
        var dropped = s.ConfiguredTenants.Except(tenantIds, StringComparer.Ordinal).ToArray();
        if (s.ConfigFingerprint != configFingerprint || !s.ConfiguredTenants.SequenceEqual(tenantIds))
        {
            s.ConfiguredTenants = tenantIds.ToList();
            s.ConfigFingerprint = configFingerprint;
            await state.WriteStateAsync();
        }

        return dropped;
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
