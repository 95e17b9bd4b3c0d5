namespace Roxy.Api.Configuration;

/// <summary>Providers that exist without any <c>providers:</c> entry, in this order. YAML entries of the same name override them.</summary>
public static class BuiltInProviders
{
    public sealed record BuiltIn(string Name, string BaseUrl, ProviderKind Kind, string KeyEnvPrefix);

    public static IReadOnlyList<BuiltIn> All { get; } =
    [
        new("openai", "https://api.openai.com/v1", ProviderKind.OpenAi, "OPENAI_API_KEY"),
        new("anthropic", "https://api.anthropic.com/v1", ProviderKind.Anthropic, "ANTHROPIC_API_KEY"),
        new("openrouter", "https://openrouter.ai/api/v1", ProviderKind.OpenAi, "OPENROUTER_API_KEY"),
        new("chutes", "https://llm.chutes.ai/v1", ProviderKind.OpenAi, "CHUTES_API_KEY"),
    ];

    public static BuiltIn? Find(string name) => All.FirstOrDefault(p => p.Name == name);

    /// <summary>The built-in names followed by YAML-only provider names, in YAML order.</summary>
    public static IReadOnlyList<string> NamesWith(RoxyConfig config) =>
        [.. All.Select(p => p.Name), .. config.Providers.Keys.Where(name => Find(name) is null)];
}
