namespace Roxy.Grains.Caching;

/// <summary>How a silo keeps the prompt cache: its memory tier, the background writer and the sweeper.</summary>
public sealed class PromptCacheOptions
{
    public const long DefaultMemoryBytes = 256L * 1024 * 1024;

    /// <summary>The silo's memory tier, in estimated managed bytes; the least recently used entries go first.</summary>
    public long MemoryBytes { get; set; } = DefaultMemoryBytes;

    /// <summary>Rows per write round trip.</summary>
    public int WriteBatchRows { get; set; } = 100;

    /// <summary>The longest a stored entry waits for its row to be written when fewer than a batch are queued.</summary>
    public TimeSpan WriteDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the sweeper deletes expired and invalidated rows.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest a lookup waits for another caller's answer, whatever the frontend asks: below Orleans' 30 s call
    /// timeout, so a waiter answers Miss and goes upstream itself instead of failing with a timeout.
    /// </summary>
    public TimeSpan MaxSingleFlightWait { get; set; } = TimeSpan.FromSeconds(25);
}
