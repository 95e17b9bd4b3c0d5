namespace Roxy.Grains.Keys;

/// <summary>
/// One provider secret, keyed by its fingerprint (an HMAC of the secret, never the secret): the single place in
/// the cluster that knows which tenant holds it, so the same quota can never get two limiters.
/// </summary>
[Alias("roxy.IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>True when the secret is free or already held by this tenant under this key id.</summary>
    [Alias("Claim")]
    Task<bool> ClaimAsync(string tenantId, string keyId);

    [Alias("Release")]
    Task ReleaseAsync(string tenantId, string keyId);

    [Alias("GetHolder")]
    ValueTask<string?> GetHolderTenantAsync();
}
