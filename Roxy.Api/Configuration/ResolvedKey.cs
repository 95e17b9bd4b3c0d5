namespace Roxy.Api.Configuration;

/// <summary>A provider key known by its env var and fingerprint; <see cref="Source"/> is "config" or "env".</summary>
public sealed record ResolvedKey(
    string Id,
    string Provider,
    string EnvVar,
    string Fingerprint,
    long MaxRpm,
    long MaxTpm,
    int CooldownSec,
    string Source);
