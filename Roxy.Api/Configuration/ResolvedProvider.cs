namespace Roxy.Api.Configuration;

/// <summary>A provider with defaults filled in; timeouts default to <c>server.*</c>.</summary>
public sealed record ResolvedProvider(
    string Name,
    ProviderKind Kind,
    Uri BaseUrl,
    IReadOnlyDictionary<string, string> Headers,
    TimeSpan ConnectTimeout,
    TimeSpan FirstTokenTimeout,
    TimeSpan IdleTimeout,
    TimeSpan ResponseTimeout,
    string? ProbeModel = null,
    int? DefaultMaxTokens = null);
