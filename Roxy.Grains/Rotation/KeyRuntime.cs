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

    // The pool's index (KeyPool.Refresh keeps these): the key's place in the key list and in both heaps, its
    // utilization as of its last refresh (it only falls between refreshes, as entries slide out), when it was last
    // granted (ties go to the longest ago), and when its order or readiness next changes by itself.
    public int Index { get; set; }
    public int ReadyPlace = -1;
    public int ChangePlace = -1;
    public double Utilization { get; set; }
    public long LastGrant { get; set; }
    public long NextChangeTicks { get; set; }

    /// <summary>Credits given in the top-up being granted, and whether it can give no more (both reset after it).</summary>
    public int CreditsGiven { get; set; }
    public bool SetAside { get; set; }

    /// <summary>The order of <see cref="ReadyKeys"/>: less utilized first, then granted longer ago, then earlier in the list.</summary>
    public static bool Before(KeyRuntime a, KeyRuntime b) =>
        a.Utilization != b.Utilization ? a.Utilization < b.Utilization
        : a.LastGrant != b.LastGrant ? a.LastGrant < b.LastGrant
        : a.Index < b.Index;
}
