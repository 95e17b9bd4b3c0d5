namespace Roxy.Api.Configuration;

/// <summary>A tenant token: <see cref="Hash"/> is lowercase hex SHA-256 of the token, <see cref="Id"/> is "t-" + its first 10 chars.</summary>
public sealed record ResolvedToken(string Id, string Hash, string Role);
