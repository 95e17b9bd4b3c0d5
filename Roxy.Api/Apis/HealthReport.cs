namespace Roxy.Api.Apis;

public sealed record HealthReport(string Status, string Orleans, string Postgres);
