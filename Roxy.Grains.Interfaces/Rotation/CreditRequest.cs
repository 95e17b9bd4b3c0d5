namespace Roxy.Grains.Rotation;

/// <summary>
/// A busy frontend asks for up to <see cref="Credits"/> <see cref="KeyCredit"/>s of <see cref="Tokens"/> tokens
/// each, for the requests right behind the ones in flight. <see cref="Reports"/> carries its deferred usage reports.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.CreditRequest")]
public sealed record CreditRequest(
    [property: Id(0)] int Credits,
    [property: Id(1)] long Tokens,
    [property: Id(2)] IReadOnlyList<UsageReport>? Reports = null);
