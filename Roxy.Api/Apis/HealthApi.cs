using Microsoft.AspNetCore.Http.HttpResults;

namespace Roxy.Api.Apis;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("Health");
        group.MapGet("/healthz", () => TypedResults.Ok(new HealthReport("ok", "unchecked", "unchecked")))
            .WithName("Liveness")
            .WithSummary("The process is up.");
        group.MapGet("/readyz", ReadinessAsync)
            .WithName("Readiness")
            .WithSummary("The cluster answers. PostgreSQL trouble is reported as degraded, not unready: warm grains keep serving.");
        return app;
    }

    public static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadinessAsync(ReadinessCheck readiness, CancellationToken ct)
    {
        var report = await readiness.GetAsync().WaitAsync(ct);
        return report.Status == "unready"
            ? TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Ok(report);
    }
}
