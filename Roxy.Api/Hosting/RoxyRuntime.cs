namespace Roxy.Api.Hosting;

/// <summary>Facts about this process that endpoints and commands report: where state lives and when it started.</summary>
public sealed record RoxyRuntime(string PostgresConnectionString, string ConfigPath, DateTimeOffset StartedAt, bool CoHostedSilo);
