namespace Roxy.Grains.Tenancy;

/// <summary>One tenant as the registry knows it: its id, who owns it, and how many tokens it has.</summary>
[GenerateSerializer, Immutable, Alias("roxy.TenantListing")]
public sealed record TenantListing(
    [property: Id(0)] string Id,
    [property: Id(1)] Owner Owner,
    [property: Id(2)] int TokenCount);
