using System.Net;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The README's table of upstream signals ("Upstream signals"), each in its own tenant so key state never leaks
/// between tests.
/// </summary>
public sealed class FailoverTests : IClassFixture<ProxyFixture>
{
    private const string Hello = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
    private const string HelloStream = """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
    private readonly ProxyFixture _f;

    public FailoverTests(ProxyFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    [Fact]
    public async Task Server_error_is_retried_on_another_key()
    {
        _f.Upstream.Enqueue(FakeResponse.ServerError());
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("retry"), Hello);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var keys = _f.Upstream.Requests.Select(r => r.ApiKey).ToArray();
        Assert.Equal(2, keys.Length);
        Assert.NotEqual(keys[0], keys[1]);
    }

    [Fact]
    public async Task Hostile_reset_headers_never_fail_this_or_later_requests()
    {
        // 300000000h overflows TimeSpan; 100000000h parses but overflowed now + reset inside the rotation grain, in
        // a deferred report that then rode along with, and failed, every later acquire.
        _f.Upstream.SetKeyBehavior(ProxyFixture.SecretOf("hostile-hints", 1), FakeResponse.Ok() with
        {
            Headers = new Dictionary<string, string> { ["x-ratelimit-reset-requests"] = "300000000h", ["x-ratelimit-remaining-requests"] = "1000" },
        });
        _f.Upstream.SetKeyBehavior(ProxyFixture.SecretOf("hostile-hints", 2), FakeResponse.Ok() with
        {
            Headers = new Dictionary<string, string> { ["x-ratelimit-reset-tokens"] = "100000000h", ["x-ratelimit-remaining-tokens"] = "99999999" },
        });

        var statuses = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            statuses.Add((int)(await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("hostile-hints"), Hello)).StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(200, s));
        Assert.Equal(20, _f.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Rate_limited_keys_give_429_with_retry_after_once_all_are_cooling()
    {
        _f.Upstream.SetKeyBehavior(ProxyFixture.SecretOf("ratelimit", 1), FakeResponse.RateLimited(retryAfterSeconds: 40));
        _f.Upstream.SetKeyBehavior(ProxyFixture.SecretOf("ratelimit", 2), FakeResponse.RateLimited(retryAfterSeconds: 45));

        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("ratelimit"), Hello);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        var retryAfter = response.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter.TotalSeconds, 39, 41);
        Assert.Equal(2, _f.Upstream.Requests.Count);

        // Cooling keys are not tried again: the next request is refused without touching the provider.
        var again = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("ratelimit"), Hello);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.Equal(2, _f.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Bounded_wait_lets_a_request_through_when_a_key_frees_in_time()
    {
        // Key 1 cools for 1 s (its cooldown_sec) after a 429 with no hint; key 2 is rejected as unauthorized.
        _f.Upstream.SetKeyBehavior(ProxyFixture.SecretOf("waiting", 2), FakeResponse.Unauthorized());
        _f.Upstream.Enqueue(FakeResponse.Error(429, "rate_limit_error", "rate_limit_exceeded", "slow down"));
        var first = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("waiting"), Hello);
        // max_wait_ms is 300 in the test config: shorter than the 1 s cooldown, so 429.
        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);

        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        var second = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("waiting"), Hello);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    [Fact]
    public async Task Unauthorized_key_is_disabled_and_the_request_moves_on()
    {
        var bad = ProxyFixture.SecretOf("auth", 1);
        _f.Upstream.SetKeyBehavior(bad, FakeResponse.Error(401, "invalid_request_error", "invalid_api_key", $"Incorrect API key provided: {bad}"));

        for (var i = 0; i < 3; i++)
        {
            var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("auth"), Hello);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain(bad, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(1, _f.Upstream.CountFor(bad));
        var tenant = _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("auth"));
        await Eventually.TrueAsync(async () => (await tenant.GetSnapshotAsync()).Keys.Any(k => !k.Enabled));
        var disabled = Assert.Single((await tenant.GetSnapshotAsync()).Keys, k => !k.Enabled);
        Assert.Equal("auth", disabled.DisabledReason);
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains(bad, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Caller_errors_pass_through_without_retry()
    {
        _f.Upstream.Enqueue(FakeResponse.Error(400, "invalid_request_error", "invalid_value", "temperature must be at most 2"));
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("passthrough"), Hello);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("temperature must be at most 2", error.GetProperty("message").GetString());
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Context_length_exceeded_fails_over_to_the_next_target_only_when_the_rule_opts_in()
    {
        const string tooLong = "This model's maximum context length is 8192 tokens.";
        _f.Upstream.Enqueue(FakeResponse.Error(400, "invalid_request_error", "context_length_exceeded", tooLong));
        var optedIn = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken, """{"model":"long-context","messages":[{"role":"user","content":"hi"}]}""");
        await optedIn.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, optedIn.StatusCode);
        Assert.Equal("gpt-4o-128k", optedIn.Headers.GetValues("x-roxy-model").Single());
        Assert.Equal(2, _f.Upstream.Requests.Count);

        _f.Upstream.Reset();
        _f.Upstream.Enqueue(FakeResponse.Error(400, "invalid_request_error", "context_length_exceeded", tooLong));
        var notOptedIn = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken, """{"model":"short-context","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(notOptedIn);

        Assert.Equal(HttpStatusCode.BadRequest, notOptedIn.StatusCode);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Stream_error_before_content_fails_over_to_another_key()
    {
        _f.Upstream.Enqueue(new FakeResponse { SseErrorBeforeContent = true });
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("stream-error"), HelloStream);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("\"error\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Equal(2, _f.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Slow_first_token_is_504_after_the_first_token_timeout()
    {
        _f.Upstream.Enqueue(new FakeResponse { DelayBeforeHeaders = TimeSpan.FromSeconds(3) });
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("timeout"),
            """{"model":"slow:gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Upstream_dropping_mid_stream_aborts_the_client_response()
    {
        _f.Upstream.Enqueue(new FakeResponse { DropAfterEvents = 3 });
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", ProxyFixture.TokenOf("drop"), HelloStream,
            completion: HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(response.Content.ReadAsStringAsync);
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Client_going_away_cancels_the_upstream_stream()
    {
        _f.Upstream.Enqueue(new FakeResponse { ContentChunks = 200, DelayBetweenEvents = TimeSpan.FromMilliseconds(50) });
        using (var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", ProxyFixture.TokenOf("cancel"), HelloStream,
            completion: HttpCompletionOption.ResponseHeadersRead))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);
        }

        // Roxy logs the request once the upstream call has ended; 200 chunks at 50 ms would take 10 s.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!_f.Roxy.Logs.Lines.Any(l => l.Contains("tenant=cancel", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Contains(_f.Roxy.Logs.Lines, l => l.Contains("tenant=cancel", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_larger_than_every_keys_tpm_is_400_not_429()
    {
        // Keys of this tenant allow 1,000,000 tokens a minute; this request reserves more than that alone.
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("passthrough"),
            """{"model":"gpt-4o-mini","max_tokens":2000000,"messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Long_non_streamed_generation_is_not_cut_off_by_the_first_token_timeout()
    {
        // The slow provider's first-token timeout is 0.5 s. A JSON answer arrives only once fully generated, so its
        // wait is the response timeout (600 s by default): one upstream call, answered, billed once.
        _f.Upstream.Enqueue(new FakeResponse { DelayBeforeHeaders = TimeSpan.FromSeconds(1.5) });
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("timeout"),
            """{"model":"slow:gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Timeout_after_the_request_was_sent_keeps_its_reservation()
    {
        // The provider got the request and may bill it: the window must not forget the tokens it reserved.
        _f.Upstream.Enqueue(new FakeResponse { DelayBeforeHeaders = TimeSpan.FromSeconds(3) });
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.TokenOf("late"),
            """{"model":"slow:gpt-4o-mini","stream":true,"max_tokens":5000,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);

        var rotation = _f.Roxy.Grains.GetGrain<Roxy.Grains.Rotation.IRotationGrain>(GrainKeys.Rotation("late", "slow"));
        // The report is one-way; give it a moment to land, then it must still hold the reservation.
        await Task.Delay(300);
        var tokens = (await rotation.GetUsageAsync()).Sum(k => k.TokensInWindow);
        Assert.True(tokens >= 5000, $"the window holds {tokens} tokens after a timed-out request that reserved 5000+");
    }

    [Fact]
    public async Task Client_leaving_mid_stream_is_charged_what_was_streamed_not_the_reservation()
    {
        _f.Upstream.Enqueue(new FakeResponse { ContentChunks = 200, DelayBetweenEvents = TimeSpan.FromMilliseconds(20) });
        using (var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", ProxyFixture.TokenOf("disconnect"),
            """{"model":"gpt-4o-mini","stream":true,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}""",
            completion: HttpCompletionOption.ResponseHeadersRead))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[256]) > 0);
        }

        var rotation = _f.Roxy.Grains.GetGrain<Roxy.Grains.Rotation.IRotationGrain>(GrainKeys.Rotation("disconnect", "openai"));
        var tokens = long.MaxValue;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            tokens = (await rotation.GetUsageAsync()).Sum(k => k.TokensInWindow);
            if (tokens < 1000)
            {
                break;
            }

            await Task.Delay(50);
        }

        // Prompt ("hi", about 10 tokens) plus the chunks that went out before the client left: far from 100,000.
        Assert.InRange(tokens, 1, 999);
    }
}
