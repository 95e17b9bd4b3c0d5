namespace Roxy.Grains.Keys;

public sealed class ApiKeyGrain(
    [PersistentState("apikey", RoxyStorage.Name)] IPersistentState<ApiKeyState> state) : Grain, IApiKeyGrain
{
    async Task<bool> IApiKeyGrain.ClaimAsync(string tenantId, string keyId)
    {
        var s = state.State;
        if (s.TenantId is not null && s.TenantId != tenantId)
        {
            return false;
        }

        if (s.TenantId == tenantId && s.KeyId == keyId)
        {
            return true;
        }

        await WriteAsync(tenantId, keyId);
        return true;
    }

    async Task IApiKeyGrain.ReleaseAsync(string tenantId, string keyId)
    {
        var s = state.State;
        if (s.TenantId == tenantId && s.KeyId == keyId)
        {
            await WriteAsync(null, null);
        }
    }

    ValueTask<string?> IApiKeyGrain.GetHolderTenantAsync() => ValueTask.FromResult(state.State.TenantId);

    /// <summary>Memory follows storage: a failed write leaves the holder as stored, or a claim would live only until deactivation.</summary>
    private async Task WriteAsync(string? tenantId, string? keyId)
    {
        var s = state.State;
        var (tenantBefore, keyBefore) = (s.TenantId, s.KeyId);
        (s.TenantId, s.KeyId) = (tenantId, keyId);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (s.TenantId, s.KeyId) = (tenantBefore, keyBefore);
            throw;
        }
    }
}
