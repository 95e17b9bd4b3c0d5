using System.Text.Json.Serialization;

namespace Roxy.Api.Apis.Admin;

/// <summary>A provider key to add: stored encrypted under ROXY_MASTER_KEY, never echoed, never logged.</summary>
/// <param name="Provider">A configured provider, e.g. <c>openai</c>.</param>
/// <param name="Key">The provider's API key.</param>
/// <param name="MaxRpm">Requests per minute (default 500, at least 1).</param>
/// <param name="MaxTpm">Tokens per minute (default 200000, at least 1).</param>
/// <param name="CooldownSec">Seconds out of rotation after a 429 without Retry-After (default 60, at least 0).</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record KeyAddRequest(string? Provider, string? Key, long? MaxRpm = null, long? MaxTpm = null, long? CooldownSec = null)
{
    public static KeyAddRequest Example { get; } = new("openai", "sk-proj-…", 500, 200_000, 60);
}
