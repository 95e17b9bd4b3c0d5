using System.Diagnostics;
using System.Diagnostics.Metrics;
using Roxy.Api.Configuration;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using TagList = System.Diagnostics.TagList;

namespace Roxy.Api.Observability;

/// <summary>
/// Roxy's instruments (SPEC §9): the OpenTelemetry GenAI semantic conventions' where they fit, then Roxy's own. Every
/// label value is a cached string from <see cref="MetricLabels"/> and every tag set a <see cref="System.Diagnostics.TagList"/> (a struct
/// holding up to eight tags inline), so recording allocates nothing and takes no lock of Roxy's.
/// </summary>
public sealed class RoxyMetrics
{
    public const string MeterName = "Roxy";

    /// <summary>The conventions' advice for durations: 0.01 s doubling to 81.92 s.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    /// <summary>The conventions' advice for time to first token.</summary>
    public static readonly IReadOnlyList<double> FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>The conventions' advice for token counts: powers of 4 from 1 to 67108864.</summary>
    public static readonly IReadOnlyList<long> TokenBuckets = [.. Enumerable.Range(0, 14).Select(static i => 1L << (2 * i))];

    private readonly bool _on;
    private readonly MetricLabels _labels;
    private readonly Histogram<double> _clientDuration;
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _serverDuration;
    private readonly Histogram<double> _firstToken;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _upstreamErrors;
    private readonly Histogram<double> _waits;
    private readonly Counter<long> _budgetRejections;

    public RoxyMetrics(IMeterFactory meters, ResolvedConfig config, MetricLabels labels, KeyStateGauge keys)
    {
        _on = config.Raw.Metrics.Enabled;
        _labels = labels;
        var meter = meters.Create(new MeterOptions(MeterName) { Version = typeof(RoxyMetrics).Assembly.GetName().Version?.ToString() });
        var durations = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };

        _clientDuration = meter.CreateHistogram(
            "gen_ai.client.operation.duration", "s", "Each upstream call, Roxy to provider, per attempt.", advice: durations);
        _tokenUsage = meter.CreateHistogram(
            "gen_ai.client.token.usage", "{token}", "Billed tokens per upstream call (cache hits are not billed).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _serverDuration = meter.CreateHistogram(
            "gen_ai.server.request.duration", "s", "Each proxied request, as its client saw it.", advice: durations);
        _firstToken = meter.CreateHistogram(
            "gen_ai.server.time_to_first_token", "s", "Streamed requests: time until the first byte of the answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _requests = meter.CreateCounter<long>("roxy.requests", "{request}", "Requests by tenant, status and cache result.");
        _cacheLookups = meter.CreateCounter<long>("roxy.cache.lookups", "{lookup}", "Prompt cache results: hit, miss, bypass.");
        _cost = meter.CreateCounter<double>("roxy.cost.usd", "{USD}", "Spent on providers, and saved by the prompt cache.");
        _upstreamErrors = meter.CreateCounter<long>("roxy.upstream.errors", "{error}", "Failed upstream calls by provider and signal (SPEC §5).");
        _waits = meter.CreateHistogram(
            "roxy.rate_limit.waits", "s", "Waits in the failover loop for a key to free up: count and seconds.", advice: durations);
        _budgetRejections = meter.CreateCounter<long>("roxy.budget.rejections", "{request}", "Requests refused by a budget, by tenant and scope.");
        meter.CreateObservableGauge("roxy.keys", keys.Observe, "{key}", "Keys by provider and state: active, cooling, disabled.");
    }

    public void AttemptEnded(ProxyRequest request, RouteTarget target, AttemptResult result, long started)
    {
        if (!_on)
        {
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var operation = MetricLabels.Operation(request.Operation);
        var provider = _labels.GenAiProvider(target.Provider);
        var model = _labels.TargetModel(target);
        var signal = MetricLabels.Signal(result);
        var tags = new TagList
        {
            { "gen_ai.operation.name", operation },
            { "gen_ai.provider.name", provider },
            { "gen_ai.request.model", model },
            { "gen_ai.response.model", model },
        };
        if (signal is not null)
        {
            tags.Add("error.type", signal);
            if (result.Outcome != Grains.Rotation.UpstreamOutcome.Cancelled)
            {
                _upstreamErrors.Add(1, new TagList { { "roxy.provider", _labels.Provider(target.Provider) }, { "roxy.upstream.signal", signal } });
            }
        }

        _clientDuration.Record(seconds, in tags);
        if (!result.UsageKnown)
        {
            return;
        }

        // What the provider billed for this call: what it reported, or what reached the client of a stream cut short.
        if (result.PromptTokens > 0)
        {
            var input = new TagList
            {
                { "gen_ai.operation.name", operation },
                { "gen_ai.provider.name", provider },
                { "gen_ai.request.model", model },
                { "gen_ai.response.model", model },
                { "gen_ai.token.type", "input" },
            };
            _tokenUsage.Record(result.PromptTokens, in input);
        }

        if (result.CompletionTokens > 0)
        {
            var output = new TagList
            {
                { "gen_ai.operation.name", operation },
                { "gen_ai.provider.name", provider },
                { "gen_ai.request.model", model },
                { "gen_ai.response.model", model },
                { "gen_ai.token.type", "output" },
            };
            _tokenUsage.Record(result.CompletionTokens, in output);
        }
    }

    public void Waited(ProxyRequest request, TimeSpan waited)
    {
        if (_on)
        {
            _waits.Record(waited.TotalSeconds, new TagList { { "roxy.tenant", MetricLabels.Tenant(request.Identity.TenantId) } });
        }
    }

    public void BudgetRejected(ProxyRequest request, string scope)
    {
        if (_on)
        {
            _budgetRejections.Add(1, new TagList
            {
                { "roxy.tenant", MetricLabels.Tenant(request.Identity.TenantId) },
                { "roxy.budget.scope", scope == "token" ? "token" : "tenant" },
            });
        }
    }

    /// <summary>A request refused before routing (no or a bad token, an unreadable body): counted, with no model to time.</summary>
    public void RequestRejected(Tenancy.TenantIdentity? identity, Protocols.WireProtocol protocol, Errors.ProxyError error)
    {
        _ = protocol; // the client's protocol says nothing a status does not
        if (_on)
        {
            _requests.Add(1, new TagList
            {
                { "roxy.tenant", MetricLabels.Tenant(identity?.TenantId) },
                { "http.response.status_code", MetricLabels.Status(error.Status) },
                { "roxy.cache.result", "bypass" },
            });
        }
    }

    public void RequestCompleted(ProxyRequest request, int status)
    {
        if (!_on)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var tenant = MetricLabels.Tenant(request.Identity.TenantId);
        var cache = MetricLabels.Cache(request.CacheResult);
        _requests.Add(1, new TagList
        {
            { "roxy.tenant", tenant },
            { "http.response.status_code", MetricLabels.Status(status) },
            { "roxy.cache.result", cache },
        });
        _cacheLookups.Add(1, new TagList { { "roxy.tenant", tenant }, { "roxy.cache.result", cache } });

        var tags = new TagList
        {
            { "gen_ai.operation.name", MetricLabels.Operation(request.Operation) },
            { "gen_ai.request.model", _labels.RequestModel(request) },
        };
        if (request.Answered is { } answered)
        {
            tags.Add("gen_ai.provider.name", _labels.GenAiProvider(answered.Provider));
            tags.Add("gen_ai.response.model", _labels.TargetModel(answered));
        }

        if (request.Stream && request.FirstByteAt != 0)
        {
            _firstToken.Record(Stopwatch.GetElapsedTime(request.StartedAt, request.FirstByteAt).TotalSeconds, in tags);
        }

        if (MetricLabels.ServerError(request.Error, status) is { } error)
        {
            tags.Add("error.type", error);
        }

        _serverDuration.Record(Stopwatch.GetElapsedTime(request.StartedAt, now).TotalSeconds, in tags);

        if (request.Cost > 0)
        {
            _cost.Add((double)request.Cost, new TagList { { "roxy.tenant", tenant }, { "roxy.cost.kind", "spent" } });
        }

        if (request.Saved > 0)
        {
            _cost.Add((double)request.Saved, new TagList { { "roxy.tenant", tenant }, { "roxy.cost.kind", "saved" } });
        }
    }
}
