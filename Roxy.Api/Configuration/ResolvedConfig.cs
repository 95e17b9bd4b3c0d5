namespace Roxy.Api.Configuration;

/// <summary>The validated configuration with environment applied. <see cref="Fingerprint"/> holds hashes only, never secrets.</summary>
public sealed record ResolvedConfig(
    RoxyConfig Raw,
    IReadOnlyList<ResolvedProvider> Providers,
    IReadOnlyList<ResolvedTenant> Tenants,
    string Fingerprint,
    IReadOnlyList<string> Warnings);
