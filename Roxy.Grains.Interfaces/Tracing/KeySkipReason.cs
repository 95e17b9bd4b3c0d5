namespace Roxy.Grains.Tracing;

[GenerateSerializer]
public enum KeySkipReason
{
    /// <summary>Disabled (by an admin, or by the provider's 401/403/quota answer; <see cref="KeySkip.Detail"/> says which).</summary>
    Disabled = 0,

    /// <summary>Cooling after a 429 until <see cref="KeySkip.Until"/>.</summary>
    Cooling = 1,

    /// <summary>Its request or token window has no room for this request now.</summary>
    NoHeadroom = 2,

    /// <summary>Its max_tpm is smaller than this request could ever need.</summary>
    TooSmall = 3,

    /// <summary>Already tried by this request.</summary>
    Excluded = 4,
}
