namespace Roxy.Grains.Rotation;

/// <summary>The in-memory, per-request state of one key: its two windows, cooldown and provider hints.</summary>
internal sealed class KeyRuntime(ProviderKey key, TimeSpan window)
{
    public ProviderKey Key { get; set; } = key;
    public SlidingWindow Requests { get; } = new(window);
    public SlidingWindow Tokens { get; } = new(window);
    public DateTimeOffset CoolingUntil { get; set; }

    /// <summary>Set when the provider refused the key; persisted through the tenant grain.</summary>
    public string? DisabledReason { get; set; }

    // The provider's own x-ratelimit-remaining-* counts, trusted until their reset.
    public int? HintRequests { get; set; }
    public long? HintTokens { get; set; }
    public DateTimeOffset HintUntil { get; set; }

    public bool InRotation => Key.Enabled && DisabledReason is null;
}
