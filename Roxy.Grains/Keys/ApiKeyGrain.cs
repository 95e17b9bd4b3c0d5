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

        s.TenantId = tenantId;
        s.KeyId = keyId;
        await state.WriteStateAsync();
        return true;
    }

    async Task IApiKeyGrain.ReleaseAsync(string tenantId, string keyId)
    {
        var s = state.State;
        if (s.TenantId == tenantId && s.KeyId == keyId)
        {
            s.TenantId = null;
            s.KeyId = null;
            await state.WriteStateAsync();
        }
    }

    ValueTask<string?> IApiKeyGrain.GetHolderTenantAsync() => ValueTask.FromResult(state.State.TenantId);
}
