namespace Roxy.Api.Configuration;

/// <summary>
/// OpenRouter's app attribution headers, filled from <see cref="ProviderConfig.HttpReferer"/> and
/// <see cref="ProviderConfig.XTitle"/>. Never taken from the client: its headers are not forwarded upstream.
/// </summary>
public static class ProviderAttribution
{
    public const string RefererHeader = "HTTP-Referer";

    public const string TitleHeader = "X-Title";
}
