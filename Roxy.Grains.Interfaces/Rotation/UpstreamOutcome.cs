namespace Roxy.Grains.Rotation;

/// <summary>How an upstream call with a leased key ended, as far as the key is concerned.</summary>
[GenerateSerializer]
public enum UpstreamOutcome
{
    Success = 0,
    RateLimited = 1,
    QuotaExhausted = 2,
    AuthFailed = 3,
    ProviderOverloaded = 4,
    Failed = 5,
    CallerError = 6,
    Cancelled = 7,

    /// <summary>A <see cref="KeyCredit"/> that expired unspent: its reservation is released.</summary>
    Unused = 8,
}
