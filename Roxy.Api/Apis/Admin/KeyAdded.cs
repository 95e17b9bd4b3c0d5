namespace Roxy.Api.Apis.Admin;

/// <summary>The key just added: its id and mask, never the key.</summary>
public sealed record KeyAdded(string Id, string Mask, string Provider, KeyLimits Limits)
{
    public static KeyAdded Example { get; } = new("k-3f9a0c12d4", "sk-…a1b2", "openai", new KeyLimits(500, 200_000, 60));
}
