namespace Roxy.Api.Configuration;

/// <summary>Prompt cache settings of a tenant.</summary>
public sealed class CacheConfig
{
    public bool Enabled { get; set; } = true;

    [RangeRule(1, int.MaxValue, Expectation = "a positive integer")]
    public int TtlSec { get; set; } = 3600;

    [OneOf("all", "deterministic")]
    public string Mode { get; set; } = "all";

    /// <summary>An answer larger than this (its canonical entry) is passed on but not stored.</summary>
    [RangeRule(1024, 64 * 1024 * 1024, Expectation = "a number of bytes")]
    public int MaxEntryBytes { get; set; } = 1024 * 1024;
}
