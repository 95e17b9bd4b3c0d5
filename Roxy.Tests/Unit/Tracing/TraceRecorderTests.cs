using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Commands;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.Api.Tracing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Tracing;

namespace Roxy.Tests.Unit.Tracing;

/// <summary>
/// The trace a request leaves, built step by step as the failover loop reports them: bounded however long the request
/// waits, its cooldowns said as the rotation grain applies them, its frontend named by an opaque id.
/// </summary>
public sealed class TraceRecorderTests : IDisposable
{
    private static readonly RouteTarget Primary = new("openai", "gpt-4o-mini");
    private static readonly RouteTarget Fallback = new("anthropic", "claude-3-5-haiku");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero));
    private readonly UnsentTraces _queue = new();
    private readonly TraceRecorder _recorder;
    private readonly PooledBuffer _body = new(256);
    private readonly ProxyRequest _request;

    public TraceRecorderTests()
    {
        _recorder = new TraceRecorder(_queue, _time);
        _body.Write(Encoding.UTF8.GetBytes("""{"model":"smart","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Null(ChatRequestReader.TryRead(_body.Span, out var info));
        _request = new ProxyRequest(new DefaultHttpContext(), "req_trace_1", new TenantIdentity("acme", "t-0123456789", TenantRole.Member), _body, info);
        _request.Sink = new OpenAiChatSink(_request, _time);
    }

    public void Dispose() => _body.Dispose();

    [Fact]
    public void A_request_that_waits_hundreds_of_times_keeps_one_step_per_refusal_and_one_for_its_waits()
    {
        // The failover loop's passes while every key of both targets is busy: each refuses, then the request waits 5 ms.
        const int passes = 400;
        for (var i = 0; i < passes; i++)
        {
            var frees = _time.GetUtcNow().AddMilliseconds(5);
            _recorder.LeaseRefused(_request, Primary, Exhausted([new KeySkip("k-1", KeySkipReason.NoHeadroom, frees, "unsaved share"), new KeySkip("k-2", KeySkipReason.Cooling, frees, null)]));
            _recorder.LeaseRefused(_request, Fallback, Exhausted([new KeySkip("k-3", KeySkipReason.NoHeadroom, frees, "max_rpm")]));
            _recorder.Waited(_request, TimeSpan.FromMilliseconds(5));
            _time.Advance(TimeSpan.FromMilliseconds(5));
        }

        _recorder.AttemptEnded(_request, Primary, Granted("k-1"), new AttemptResult { Outcome = UpstreamOutcome.Success, UpstreamStatus = 200 }, System.Diagnostics.Stopwatch.GetTimestamp());
        var steps = Finish().Steps;

        Assert.Equal([TraceStepKind.Exhausted, TraceStepKind.Exhausted, TraceStepKind.Waited, TraceStepKind.Attempt], steps.Select(s => s.Kind));
        Assert.Equal([passes - 1, passes - 1, passes - 1, 0], steps.Select(s => s.Repeats));
        Assert.Equal(passes * 5.0, steps[2].DurationMs, precision: 6);
        // The folded refusal shows the latest pass's skips.
        Assert.Equal(_time.GetUtcNow(), steps[0].SkippedKeys![0].Until);
        Assert.Equal("waited 2000 ms in all, 400 times, for a key to free up", TraceExplainer.What(steps[2]));
        Assert.EndsWith(" (400 times)", TraceExplainer.What(steps[1]), StringComparison.Ordinal);
    }

    [Fact]
    public void Past_its_cap_a_trace_keeps_its_first_steps_a_marker_and_how_it_ended()
    {
        // Steps that do not fold (each a different key's attempt), more than a trace keeps.
        const int attempts = 50;
        for (var i = 0; i < attempts; i++)
        {
            _recorder.AttemptEnded(_request, Primary, Granted($"k-{i}"), new AttemptResult { Outcome = UpstreamOutcome.Failed, UpstreamStatus = 500 }, System.Diagnostics.Stopwatch.GetTimestamp());
        }

        _recorder.AttemptEnded(_request, Fallback, Granted("k-last"), new AttemptResult { Outcome = UpstreamOutcome.Success, UpstreamStatus = 200 }, System.Diagnostics.Stopwatch.GetTimestamp());
        var trace = Finish();
        var steps = trace.Steps;

        Assert.Equal(TraceRecorder.MaxSteps + 1, steps.Count);
        Assert.Equal([.. Enumerable.Range(0, TraceRecorder.MaxSteps - 1).Select(i => $"k-{i}")], steps.Take(TraceRecorder.MaxSteps - 1).Select(s => s.KeyId));
        var marker = steps[^2];
        Assert.Equal(TraceStepKind.Omitted, marker.Kind);
        Assert.Equal(attempts + 1 - TraceRecorder.MaxSteps, marker.Repeats);
        Assert.Equal(("k-last", "success"), (steps[^1].KeyId, steps[^1].Outcome));
        var why = WhyCommand.Render(trace);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{TraceRecorder.MaxSteps}. … {attempts + 1 - TraceRecorder.MaxSteps} more steps, not kept\n"), why, StringComparison.Ordinal);
        Assert.Contains("key `k-last`: 200 success", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_limit_hint_of_a_day_cools_the_key_for_the_rotation_grains_cap_and_the_trace_says_so()
    {
        // A provider that says Retry-After: 86400. The rotation grain believes an hour at most; the trace must agree.
        var result = new AttemptResult
        {
            Outcome = UpstreamOutcome.RateLimited,
            UpstreamStatus = 429,
            Hints = new RateLimitHints(TimeSpan.FromDays(1), TimeSpan.FromDays(2), null, null),
        };

        _recorder.AttemptEnded(_request, Primary, Granted("k-1"), result, System.Diagnostics.Stopwatch.GetTimestamp());
        var step = Assert.Single(Finish().Steps);

        Assert.Equal(RateLimitCooldown.MaxHint, step.RetryAfter);
        Assert.Equal(RateLimitCooldown.MaxHint, RateLimitCooldown.After(60, TimeSpan.FromDays(1), TimeSpan.FromDays(2)));
        Assert.Equal("cooling until 10:30:00 UTC", step.Detail);
    }

    [Fact]
    public void A_short_hint_leaves_the_keys_cooldown()
    {
        var result = new AttemptResult { Outcome = UpstreamOutcome.RateLimited, UpstreamStatus = 429, Hints = new RateLimitHints(TimeSpan.FromSeconds(2), null, null, null) };

        _recorder.AttemptEnded(_request, Primary, Granted("k-1"), result, System.Diagnostics.Stopwatch.GetTimestamp());

        Assert.Equal(TimeSpan.FromSeconds(60), Assert.Single(Finish().Steps).RetryAfter);
    }

    [Fact]
    public void A_trace_names_its_frontend_by_an_opaque_id_not_the_machine()
    {
        var trace = Finish();

        Assert.Equal(_recorder.Frontend, trace.Frontend);
        Assert.Matches("^fe-[0-9a-f]{8}$", trace.Frontend);
        Assert.DoesNotContain(Environment.MachineName, trace.Frontend, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(_recorder.Frontend, new TraceRecorder(_queue, _time).Frontend);
    }

    private RequestTrace Finish()
    {
        _recorder.Completed(_request, 200);
        return _queue.Find("acme", "req_trace_1")!;
    }

    private static KeyLease Exhausted(IReadOnlyList<KeySkip> skipped) =>
        new(LeaseStatus.Exhausted, null, 0, 0, TimeSpan.FromMilliseconds(5), skipped);

    private static KeyLease Granted(string keyId) => new(
        LeaseStatus.Granted,
        new ProviderKey(keyId, "openai", "fp-" + keyId, KeySource.Env, "OPENAI_KEY", "sk-…abcd", 1000, 1_000_000, 60, Owner.Config, true, null),
        1, 10, TimeSpan.Zero);
}
