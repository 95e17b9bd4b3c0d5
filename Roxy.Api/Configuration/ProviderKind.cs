namespace Roxy.Api.Configuration;

/// <summary>The wire protocol a provider speaks.</summary>
public enum ProviderKind
{
    OpenAi,
    Anthropic,
}
