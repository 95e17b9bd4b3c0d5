using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Hosting;
using Roxy.Grains;
using Roxy.Grains.Hosting;
using Roxy.Grains.Tenancy;

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

    public static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadinessAsync(
        IGrainFactory grains, RoxyRuntime runtime, CancellationToken ct)
    {
        string orleans;
        try
        {
            await grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).GetVersionAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(3), ct);
            orleans = "ok";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            orleans = "unreachable";
        }

        var postgres = await PostgresSchema.PingAsync(runtime.PostgresConnectionString, TimeSpan.FromSeconds(2), ct) ? "ok" : "degraded";
        if (orleans != "ok")
        {
            return TypedResults.Json(new HealthReport("unready", orleans, postgres), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new HealthReport(postgres == "ok" ? "ready" : "degraded", orleans, postgres));
    }
}
