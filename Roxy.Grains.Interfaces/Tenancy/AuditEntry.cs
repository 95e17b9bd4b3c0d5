namespace Roxy.Grains.Tenancy;

/// <summary>One change to a tenant: when, by which token (id, never the token), through which channel, and what.</summary>
/// <param name="Action">The command as typed, with every secret masked.</param>
[GenerateSerializer, Immutable, Alias("roxy.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] DateTimeOffset Time,
    [property: Id(1)] string TokenId,
    [property: Id(2)] string Channel,
    [property: Id(3)] string Action);
