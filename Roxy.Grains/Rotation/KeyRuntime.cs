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
    public long? HintRequests { get; set; }
    public long? HintTokens { get; set; }
    public DateTimeOffset HintUntil { get; set; }

    // Totals granted (leases and credits) and the totals at the capture of the last stored and the pending snapshot:
    // their difference is what a crash would lose.
    public long GrantedRequests { get; set; }
    public long GrantedTokens { get; set; }
    public long SavedRequests { get; set; }
    public long SavedTokens { get; set; }
    public long CapturedRequests { get; set; }
    public long CapturedTokens { get; set; }

    // The unsaved share recorded in the last stored and in the pending snapshot (null: the key is in none, so a
    // restore charges it the share its limits give, and grants are held to that).
    public long? SavedRequestBudget { get; set; }
    public long? SavedTokenBudget { get; set; }
    public long? CapturedRequestBudget { get; set; }
    public long? CapturedTokenBudget { get; set; }

    /// <summary>The key's skip while disabled or cooling, as of the pool's last rebuild of its shared list (else null).</summary>
    public Tracing.KeySkip? Standing { get; set; }

    public bool InRotation => Key.Enabled && DisabledReason is null;
}
