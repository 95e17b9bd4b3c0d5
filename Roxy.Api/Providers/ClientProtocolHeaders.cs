namespace Roxy.Api.Providers;

/// <summary>
/// Protocol headers of a client that speaks the provider's own protocol, forwarded so the provider reads the body
/// as the client meant it: the API version and opt-in beta features (Anthropic's <c>anthropic-version</c> and
/// <c>anthropic-beta</c>). Nothing else a client sends reaches a provider.
/// </summary>
public readonly record struct ClientProtocolHeaders(string? Version, string? Beta);
