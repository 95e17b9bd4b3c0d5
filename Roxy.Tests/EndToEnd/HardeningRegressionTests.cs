using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Hand-found ways to make Roxy answer 5xx, an empty body, or the wrong limit (issue 7 and the same class elsewhere),
/// each pinned to what the README promises ("HTTP API", "Upstream signals"). Roxy stands in front of
/// <see cref="HostileUpstream"/>, which answers whatever a test scripts. Tenants that a test's upstream answer
/// damages are used by that test only.
/// </summary>
public sealed class HardeningRegressionTests(HardeningRegressionTests.Host host) : IClassFixture<HardeningRegressionTests.Host>
{
    private const string Valid = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
    private const string CommandTurn = """{"role":"user","content":"#roxy help"},{"role":"assistant","content":"Roxy commands: help"},""";

    // ---------------------------------------------------------------- routes and methods

    [Theory]
    [InlineData("GET", "v1/nope")]
    [InlineData("POST", "nope")]
    [InlineData("POST", "v1/chat/completion")]
    [InlineData("GET", "v1/models/gpt-4o-mini/extra")]
    public async Task Unknown_route_is_404_in_openai_error_shape(string method, string path)
    {
        using var response = await host.SendAsync(new HttpMethod(method), path, Host.AdminToken, method == "POST" ? Valid : null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await AssertOpenAiErrorAsync(response);
    }

    [Theory]
    [InlineData("GET", "v1/chat/completions")]
    [InlineData("PUT", "v1/chat/completions")]
    [InlineData("DELETE", "v1/models")]
    public async Task Wrong_method_on_a_known_route_is_405_in_openai_error_shape(string method, string path)
    {
        using var response = await host.SendAsync(new HttpMethod(method), path, Host.AdminToken, method == "PUT" ? Valid : null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.NotEmpty(response.Content.Headers.Allow);
        await AssertOpenAiErrorAsync(response);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic Zm9vOmJhcg==")]
    [InlineData("")]
    public async Task Models_with_odd_authorization_is_401_in_openai_error_shape(string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await host.SendRawAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await AssertOpenAiErrorAsync(response);
    }

    [Fact]
    public async Task Head_request_never_gets_a_5xx()
    {
        using var models = await host.SendRawAsync(new HttpRequestMessage(HttpMethod.Head, "v1/models"));
        using var chat = await host.SendRawAsync(new HttpRequestMessage(HttpMethod.Head, "v1/chat/completions"));

        Assert.True((int)models.StatusCode < 500, $"HEAD /v1/models: {(int)models.StatusCode}");
        Assert.True((int)chat.StatusCode < 500, $"HEAD /v1/chat/completions: {(int)chat.StatusCode}");
    }

    [Fact]
    public async Task Body_over_the_limit_with_expect_100_continue_is_413_in_openai_error_shape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 70_000) + "\"}]}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Host.AdminToken);
        request.Headers.ExpectContinue = true;
        using var response = await host.SendRawAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertOpenAiErrorAsync(response);
    }

    // ---------------------------------------------------------------- request bodies (issue 7, items 1 and 2)

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    public async Task Max_tokens_at_int32_max_is_400_naming_the_field_and_never_reaches_the_provider(string field)
    {
        var before = host.Upstream.Requests;
        using var response = await host.PostChatAsync(Host.AdminToken, $$"""{"model":"gpt-4o-mini","{{field}}":2147483647,"messages":[{"role":"user","content":"hi"}]}""");

        var error = await AssertOpenAiErrorAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, error.Param);
        Assert.Equal(before, host.Upstream.Requests);
    }

    [Fact]
    public async Task Role_with_invalid_utf8_after_a_command_turn_is_answered_as_without_it()
    {
        static byte[] Body(bool withTurn) =>
        [
            .. Encoding.UTF8.GetBytes("{\"model\":\"gpt-4o-mini\",\"messages\":[" + (withTurn ? CommandTurn : "") + "{\"role\":\""),
            0xFF,
            .. Encoding.UTF8.GetBytes("\",\"content\":\"hi\"}]}"),
        ];

        using var without = await host.PostChatBytesAsync(Host.AdminToken, Body(false));
        using var with = await host.PostChatBytesAsync(Host.AdminToken, Body(true));

        await AssertNoServerErrorAsync(without);
        await AssertNoServerErrorAsync(with);
        Assert.Equal(without.StatusCode, with.StatusCode);
    }

    [Theory]
    [InlineData(73)]
    [InlineData(127)]
    public async Task Deep_nesting_after_a_command_turn_is_answered_as_without_it(int depth)
    {
        static string Body(bool withTurn, int depth) =>
            "{\"model\":\"gpt-4o-mini\",\"messages\":[" + (withTurn ? CommandTurn : "")
            + "{\"role\":\"user\",\"content\":\"hi\",\"x\":" + new string('[', depth - 3) + new string(']', depth - 3) + "}]}";

        using var without = await host.PostChatAsync(Host.AdminToken, Body(false, depth));
        using var with = await host.PostChatAsync(Host.AdminToken, Body(true, depth));

        await AssertNoServerErrorAsync(without);
        await AssertNoServerErrorAsync(with);
        Assert.Equal(without.StatusCode, with.StatusCode);
    }

    [Theory]
    [InlineData("gpt-4o-mini\\r\\nX-Injected: yes", false)]
    [InlineData("gpt-4o-mini\\r\\nX-Injected: yes", true)]
    [InlineData("gpt-\u00e9", false)]
    [InlineData("\u6a21\u578b", true)]
    [InlineData("gpt\\u0000", false)]
    [InlineData("\\u0007", false)]
    public async Task Model_name_with_control_or_non_ascii_characters_never_gets_a_5xx(string model, bool stream)
    {
        using var response = await host.PostChatAsync(Host.AdminToken,
            $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""");

        await AssertNoServerErrorAsync(response);
        if (response.IsSuccessStatusCode && response.Headers.TryGetValues("x-roxy-model", out var values))
        {
            Assert.All(values, v => Assert.True(v.All(c => c is >= ' ' and < '\u007f'), $"x-roxy-model carries {Printable(v)}"));
        }
    }

    [Fact]
    public async Task Model_name_with_a_newline_does_not_split_the_request_log_line()
    {
        using var response = await host.PostChatAsync(Host.AdminToken,
            """{"model":"gpt-4o-mini\nFORGED log line","messages":[{"role":"user","content":"hi"}]}""");
        await AssertNoServerErrorAsync(response);

        Assert.DoesNotContain(host.Logs.Lines, line => line.Contains("\nFORGED", StringComparison.Ordinal));
    }

    // ---------------------------------------------------------------- hostile upstream answers (issue 7, items 1, 3, 4)

    [Theory]
    [InlineData("tpm-negative", """{"prompt_tokens":-1000000,"completion_tokens":0,"total_tokens":-1000000}""")]
    [InlineData("tpm-overflow", """{"prompt_tokens":2147483647,"completion_tokens":2147483647,"total_tokens":-2}""")]
    public async Task Absurd_upstream_usage_does_not_open_a_keys_token_window(string tenant, string usage)
    {
        // The key allows 1000 tokens a minute; every honest answer below costs 10 + 300.
        const string request = """{"model":"gpt-4o-mini","max_tokens":300,"messages":[{"role":"user","content":"hi"}]}""";
        host.Upstream.Answer(ctx => HostileUpstream.WriteCompletionAsync(ctx, usage));
        using (var first = await host.PostChatAsync(Host.TokenOf(tenant), request))
        {
            await AssertNoServerErrorAsync(first);
        }

        host.Upstream.AnswerNormally(promptTokens: 10, completionTokens: 300);
        var passed = 0;
        for (var i = 0; i < 6; i++)
        {
            using var response = await host.PostChatAsync(Host.TokenOf(tenant), request);
            await AssertNoServerErrorAsync(response);
            passed += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.True(passed <= 3, $"{passed} of 6 requests of 310 tokens passed a 1000 tokens/min key after the upstream reported usage {usage}");
    }

    [Theory]
    [InlineData("reset-huge", "x-ratelimit-reset-requests", "300000000h")]
    [InlineData("reset-big", "x-ratelimit-reset-requests", "100000000h")]
    [InlineData("reset-sum", "x-ratelimit-reset-tokens", "2562047h2562047h")]
    [InlineData("retry-ms", "retry-after-ms", "1e20")]
    [InlineData("retry-ms-big", "retry-after-ms", "1e15")]
    public async Task Absurd_rate_limit_header_on_a_429_never_gives_a_5xx_now_or_later(string tenant, string header, string value)
    {
        // Only the first attempt is limited: the request fails over to the tenant's second key.
        var attempts = 0;
        host.Upstream.Answer(ctx => Interlocked.Increment(ref attempts) == 1
            ? HostileUpstream.WriteErrorAsync(ctx, 429, "rate_limit_exceeded", new Dictionary<string, string> { [header] = value })
            : HostileUpstream.WriteCompletionAsync(ctx, 10, 5));
        using (var limited = await host.PostChatAsync(Host.TokenOf(tenant), Valid))
        {
            await AssertNoServerErrorAsync(limited);
        }

        // The other key still works; later requests, and the deferred report they carry, must not fail because of the first key.
        for (var i = 0; i < 5; i++)
        {
            using var next = await host.PostChatAsync(Host.TokenOf(tenant), Valid);
            await AssertNoServerErrorAsync(next);
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        }

        host.Upstream.AnswerNormally();
    }

    [Theory]
    [InlineData("x-ratelimit-reset-requests", "300000000h")]
    [InlineData("retry-after-ms", "1e20")]
    public async Task Absurd_rate_limit_header_on_a_200_never_gives_a_5xx(string header, string value)
    {
        host.Upstream.Answer(ctx => HostileUpstream.WriteCompletionAsync(ctx, """{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}""", new Dictionary<string, string> { [header] = value }));
        using var response = await host.PostChatAsync(Host.TokenOf("hint-ok"), Valid);

        await AssertNoServerErrorAsync(response);
        host.Upstream.AnswerNormally();
    }

    [Fact]
    public async Task Upstream_sse_line_without_end_is_cut_off_instead_of_buffered()
    {
        const int total = 32 * 1024 * 1024;
        var written = 0L;
        host.Upstream.Answer(async ctx =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n");
            await ctx.Response.Body.FlushAsync();
            await ctx.Response.WriteAsync("data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"");
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'x');
            try
            {
                while (written < total && !ctx.RequestAborted.IsCancellationRequested)
                {
                    await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
                    written += chunk.Length;
                    if (written % (1024 * 1024) == 0)
                    {
                        // Once Roxy hangs up, Kestrel discards writes until the abort reaches RequestAborted: a pause
                        // per MiB lets it arrive, so what is counted is what Roxy actually took.
                        await Task.Delay(5, ctx.RequestAborted);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
            {
                // Roxy hung up: what the test wants.
            }
        });

        try
        {
            using var response = await host.PostChatAsync(Host.AdminToken, """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // A stream ended by an abort after content was committed is a correct outcome too.
        }
        finally
        {
            host.Upstream.AnswerNormally();
        }

        Assert.True(Interlocked.Read(ref written) < 8 * 1024 * 1024, $"Roxy read {Interlocked.Read(ref written) / (1024 * 1024)} MiB of one SSE line before giving up");
    }

    [Fact]
    public async Task Upstream_trickling_bytes_into_an_event_that_never_ends_hits_the_idle_timeout()
    {
        // 50 bytes, one every 100 ms, never a newline: only whole events show the upstream is alive, so Roxy must
        // hang up after its 0.5 s idle timeout instead of reading all of it.
        var trickled = 0;
        host.Upstream.Answer(async ctx =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\ndata: {");
            await ctx.Response.Body.FlushAsync();
            try
            {
                for (var i = 0; i < 50 && !ctx.RequestAborted.IsCancellationRequested; i++)
                {
                    await Task.Delay(100, ctx.RequestAborted);
                    await ctx.Response.WriteAsync("x", ctx.RequestAborted);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                    Interlocked.Increment(ref trickled);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
            {
                // Roxy hung up: what the test wants.
            }
        });

        try
        {
            using var response = await host.PostChatAsync(Host.AdminToken, """{"model":"trickle:gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The stream was committed, so ending it is an abort: a correct outcome.
        }
        finally
        {
            host.Upstream.AnswerNormally();
        }

        Assert.True(Volatile.Read(ref trickled) < 50, $"Roxy read all {trickled} trickled bytes instead of timing out");
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("{\"choices\":")]
    [InlineData("")]
    public async Task Garbage_upstream_body_with_status_200_is_not_a_5xx_from_roxy_itself(string body)
    {
        host.Upstream.Answer(async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
        });
        try
        {
            using var response = await host.PostChatAsync(Host.AdminToken, Valid);
            var text = await response.Content.ReadAsStringAsync();

            // A 502 for a broken provider answer is fine (README, "HTTP API"); a 500 "Roxy failed" or an empty body
            // is not.
            Assert.True((int)response.StatusCode is < 500 or 502, $"{(int)response.StatusCode} {text}");
            Assert.NotEqual("", text);
        }
        finally
        {
            host.Upstream.AnswerNormally();
        }
    }

    [Theory]
    [InlineData("data: {\"id\":\"chatcmpl-\u0000\u00ff\n\ndata: <html>502 Bad Gateway</html>\n\n")]
    [InlineData("data: <html><body>502 Bad Gateway</body></html>\n\n")]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]} trailing\n\n")]
    public async Task Garbage_stream_with_status_200_is_a_502_not_relayed_as_an_answer(string events)
    {
        host.Upstream.Answer(async ctx =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync(events);
        });
        try
        {
            using var response = await host.PostChatAsync(Host.AdminToken, """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
            var text = await response.Content.ReadAsStringAsync();

            // Every key got the same garbage: the client hears that the provider answered something that is not a stream.
            Assert.True(response.StatusCode == HttpStatusCode.BadGateway, $"{(int)response.StatusCode} {text}");
            var error = await AssertOpenAiErrorAsync(response);
            Assert.Equal("upstream_malformed", error.Code);
        }
        finally
        {
            host.Upstream.AnswerNormally();
        }
    }

    // ---------------------------------------------------------------- helpers

    private sealed record ErrorFields(string Message, string Type, string? Param, string? Code);

    private static async Task<ErrorFields> AssertOpenAiErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var problem = MalformedRequestFuzzTests.ErrorShapeProblem(body);
        Assert.True(problem is null, $"{(int)response.StatusCode} is not OpenAI's error shape ({problem}): {MalformedRequestFuzzTests.Printable(body, 300)}");
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        return new ErrorFields(error.GetProperty("message").GetString()!, error.GetProperty("type").GetString()!, error.GetProperty("param").GetString(), error.GetProperty("code").GetString());
    }

    private static async Task AssertNoServerErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {MalformedRequestFuzzTests.Printable(body, 300)}");
        Assert.True(body.Length > 0, $"{(int)response.StatusCode} with an empty body");
        if ((int)response.StatusCode >= 400)
        {
            await AssertOpenAiErrorAsync(response);
        }
    }

    private static string Printable(string text) => MalformedRequestFuzzTests.Printable(Encoding.UTF8.GetBytes(text), 200);

    /// <summary>Roxy in front of one <see cref="HostileUpstream"/>; one tenant per test that damages its keys' state.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public const string AdminToken = "hardening-admin-token-0123456789";

        private static readonly string[] Tenants =
            ["tpm-negative", "tpm-overflow", "reset-huge", "reset-big", "reset-sum", "retry-ms", "retry-ms-big", "hint-ok"];

        private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };

        private RoxyTestHost _roxy = null!;

        public HostileUpstream Upstream { get; private set; } = null!;

        public CapturedLogs Logs => _roxy.Logs;

        public static string TokenOf(string tenant) => $"tok-{tenant}-0123456789";

        private static string Var(string tenant, string suffix) => $"H_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";

        public async Task InitializeAsync()
        {
            Upstream = await HostileUpstream.StartAsync();
            var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("hardening");
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["ROXY_TOKEN"] = AdminToken,
                ["KEY_A"] = "sk-hardening-aaaaaaaa1111",
                ["KEY_B"] = "sk-hardening-bbbbbbbb2222",
                ["KEY_T"] = "sk-hardening-tttttttt3333",
            };
            var tenants = new StringBuilder();
            foreach (var tenant in Tenants)
            {
                environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
                environment[Var(tenant, "KEY1")] = $"sk-{tenant}-key1-abcdefghijklmnop";
                environment[Var(tenant, "KEY2")] = $"sk-{tenant}-key2-abcdefghijklmnop";
                var tpm = tenant.StartsWith("tpm-", StringComparison.Ordinal) ? 1000 : 1000000;
                tenants.Append("  - id: ").Append(tenant).Append('\n')
                    .Append("    tokens: [{ token_env: ").Append(Var(tenant, "TOKEN")).Append(", role: admin }]\n")
                    .Append("    api_keys:\n");
                // The token-window tenants have one key, so a request cannot dodge its limit by failing over.
                foreach (var key in tpm == 1000 ? ["KEY1"] : new[] { "KEY1", "KEY2" })
                {
                    tenants.Append("      - { key_env_var: ").Append(Var(tenant, key)).Append(", provider: openai, max_rpm: 1000, max_tpm: ")
                        .Append(tpm).Append(", cooldown_sec: 1 }\n");
                }
            }

            _roxy = await RoxyTestHost.StartAsync($$"""
                listen_addr: ":8080"
                tokens:
                  - { token_env: ROXY_TOKEN, role: admin }
                api_keys:
                  - { key_env_var: KEY_A, provider: openai, max_rpm: 100000, max_tpm: 100000000 }
                  - { key_env_var: KEY_B, provider: openai, max_rpm: 100000, max_tpm: 100000000 }
                  - { key_env_var: KEY_T, provider: trickle, max_rpm: 100000, max_tpm: 100000000 }
                providers:
                  openai: { base_url: "{{Upstream.BaseUrl}}" }
                  trickle: { base_url: "{{Upstream.BaseUrl}}", kind: openai, idle_timeout_sec: 0.5 }
                server:
                  max_body_bytes: 65536
                rotation:
                  max_wait_ms: 100
                # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
                cache: { enabled: false }
                tenants:
                {{tenants}}
                """, environment, postgres);
        }

        public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, string? json = null) =>
            _roxy.SendAsync(method, path, token, json);

        public Task<HttpResponseMessage> PostChatAsync(string token, string json) => _roxy.PostChatAsync(token, json);

        public Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request)
        {
            request.RequestUri = new Uri(_roxy.BaseUrl, request.RequestUri!.OriginalString);
            return Http.SendAsync(request);
        }

        public Task<HttpResponseMessage> PostChatBytesAsync(string token, byte[] body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_roxy.BaseUrl, "v1/chat/completions")) { Content = new ByteArrayContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            return Http.SendAsync(request);
        }

        public async Task DisposeAsync()
        {
            await _roxy.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }
}
