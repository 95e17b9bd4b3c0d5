using Roxy.Grains.Rotation;

namespace Roxy.Api.Administration;

public enum KeyAddStatus
{
    Added,
    UnknownProvider,

    /// <summary><see cref="KeyAddResult.Limit"/> names the limit (rpm, tpm, cooldown) that is below its minimum.</summary>
    InvalidLimit,

    /// <summary>Too short to be an API key.</summary>
    NotAKey,

    /// <summary>ROXY_MASTER_KEY is missing or unusable: keys are only ever stored encrypted.</summary>
    NoMasterKey,
    AlreadyPresent,
    HeldByAnotherTenant,

    /// <summary>The tenant does not exist (any more): deleted while the request was on its way.</summary>
    TenantNotFound,
}

/// <summary>What adding a key did. <see cref="Key"/> is the key added, or the one already holding the secret in this tenant.</summary>
public sealed record KeyAddResult(KeyAddStatus Status, ProviderKey? Key = null, string? Limit = null, long Minimum = 0, long Given = 0, string? Problem = null);
