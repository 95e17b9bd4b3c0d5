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

    /// <summary>
    /// The most the writer holds in queued and in-flight row JSON; past it a new row is dropped (a cache may forget an
    /// entry, but must not grow the heap). One row larger than this is still taken when nothing else is held.
    /// </summary>
    public long WriterQueueBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The pause before a failed write batch is tried again, once, before its rows go one by one.</summary>
    public TimeSpan WriteRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The deadline of the one PostgreSQL read a miss makes: a slow database turns lookups into misses quickly
    /// instead of holding the single-flight marker (and every waiter) for a 30 s command timeout.
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a shard activation trusts its knowledge of which keys are stored before it renews its lease in
    /// PostgreSQL (<see cref="PromptCacheShard"/>): one small UPDATE per shard with misses per half lease. A shard
    /// taken over from an activation that did not let go (its silo died) waits out the rest of that lease before it
    /// trusts or writes. Zero: no knowledge, every miss reads.
    /// </summary>
    public TimeSpan AbsenceLease { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The longest a deactivating shard waits for its queued rows to be written, so its successor sees them.</summary>
    public TimeSpan DeactivationFlushWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the sweeper deletes expired and invalidated rows.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest a lookup waits for another caller's answer, whatever the frontend asks: below Orleans' 30 s call
    /// timeout, so a waiter answers Miss and goes upstream itself instead of failing with a timeout.
    /// </summary>
    public TimeSpan MaxSingleFlightWait { get; set; } = TimeSpan.FromSeconds(25);
}
