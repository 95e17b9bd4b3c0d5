namespace Roxy.Grains.Tenancy;

/// <summary>Every token of every tenant, versioned so frontends refresh their copy only when it changed.</summary>
[GenerateSerializer, Immutable, Alias("roxy.TokenDirectory")]
public sealed record TokenDirectory(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<TokenEntry> Entries);
