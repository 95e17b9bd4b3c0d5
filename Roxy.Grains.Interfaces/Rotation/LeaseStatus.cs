namespace Roxy.Grains.Rotation;

[GenerateSerializer]
public enum LeaseStatus
{
    Granted = 0,

    /// <summary>The tenant has no usable key for this provider (none, or all disabled).</summary>
    NoKeys = 1,

    /// <summary>Keys exist but none has headroom now; <see cref="KeyLease.RetryAfter"/> says when one frees.</summary>
    Exhausted = 2,

    /// <summary>The request needs more tokens than any key's max_tpm: it can never fit.</summary>
    TooLarge = 3,

    /// <summary>The provider said it is overloaded; every key of it backs off until <see cref="KeyLease.RetryAfter"/>.</summary>
    ProviderBackoff = 4,

    /// <summary>The token estimate was zero or negative (an overflow in the frontend): refused, never counted.</summary>
    InvalidEstimate = 5,
}
