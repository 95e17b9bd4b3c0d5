using System.Net;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The controls of SPEC §7 (issue 10 item 4): <c>x-roxy-cache</c> on every answer, <c>Cache-Control: no-cache</c> and
/// <c>no-store</c>, <c>x-roxy-cache-ttl</c>, the tenant's <c>enabled</c>, <c>ttl_sec</c> and <c>mode</c>, <c>n &gt; 1</c>;
/// and a hit costs no upstream call and no key.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheControlTests
{
    private readonly CacheFixture _f;

    public PromptCacheControlTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private async Task<(string? Cache, string Text)> AskAsync(string json, string token = CacheFixture.AdminToken, Action<HttpRequestMessage>? configure = null)
    {
        var response = await _f.Roxy.PostChatAsync(token, json, configure);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return (CacheHeader(response), JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    private static string Plain(string prompt, string extra = "") =>
        $$"""{"model":"{{CacheFixture.Text}}","messages":[{"role":"user","content":"{{prompt}}"}]{{extra}}}""";

    private static string? CacheHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null;

    private static Action<HttpRequestMessage> Header(string name, string value) => r => r.Headers.TryAddWithoutValidation(name, value);

    [Fact]
    public async Task Every_answer_carries_the_cache_header_errors_and_commands_included()
    {
        var prompt = CacheFixture.Marker("headers");

        var unauthorized = await _f.Roxy.PostChatAsync("not-a-token-0123456789", Plain(prompt));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("bypass", CacheHeader(unauthorized));

        var unknown = await _f.Roxy.PostChatAsync(CacheFixture.TokenOf("iso"), $$"""{"model":"no-such-model","messages":[{"role":"user","content":"{{prompt}}"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("model_not_found", JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("bypass", CacheHeader(unknown));

        var malformed = await _f.Roxy.PostChatAsync(CacheFixture.AdminToken, """{"model":"cached","messages":[""");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("bypass", CacheHeader(malformed));

        var log = new CacheHeaderLog();
        var chat = _f.Chat("anything", CacheFixture.TokenOf("cmd"), log);
        ChatCompletion help = await chat.CompleteChatAsync([new UserChatMessage("#roxy help")]);
        Assert.Equal("roxy", help.Model);
        await chat.CompleteChatAsync([new UserChatMessage("#roxy help")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("#roxy help")]))
        {
        }

        Assert.Equal(["bypass", "bypass", "bypass"], log.Values);
        Assert.Equal(0, _f.UpstreamCalls(prompt));
        Assert.Empty(_f.OpenAi.Requests);
        // Nothing a command answered was stored: the tenant that only ever sent commands has no entry.
        await Task.Delay(300);
        Assert.Equal(0, await CacheFixture.EntriesAsync(_f.Roxy, "cmd"));
    }

    [Fact]
    public async Task A_hit_makes_no_upstream_call_and_uses_no_key()
    {
        var prompt = CacheFixture.Marker("free-hit");
        Assert.Equal("miss", (await AskAsync(Plain(prompt), CacheFixture.TokenOf("iso"))).Cache);
        var used = _f.OpenAi.CountFor(CacheFixture.OpenAiKeyOf("iso"));
        Assert.Equal(1, used);

        for (var i = 0; i < 5; i++)
        {
            var response = await _f.Roxy.PostChatAsync(CacheFixture.TokenOf("iso"), Plain(prompt));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("hit", CacheHeader(response));
            Assert.False(response.Headers.Contains("x-roxy-key"), "a hit is answered by no key");
        }

        Assert.Equal(used, _f.OpenAi.CountFor(CacheFixture.OpenAiKeyOf("iso")));
        Assert.Equal(1, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task No_cache_skips_the_lookup_and_stores_the_fresh_answer()
    {
        var prompt = CacheFixture.Marker("no-cache");
        _f.OpenAi.Enqueue(new FakeResponse { Content = "the first answer" });
        Assert.Equal(("miss", "the first answer"), await AskAsync(Plain(prompt)));

        _f.OpenAi.Enqueue(new FakeResponse { Content = "a fresh answer" });
        var (cache, text) = await AskAsync(Plain(prompt), configure: Header("Cache-Control", "no-cache"));
        // SPEC §7: no-cache is not looked up, so it is a bypass, though its answer is stored.
        Assert.Equal("bypass", cache);
        Assert.Equal("a fresh answer", text);
        Assert.Equal(2, _f.UpstreamCalls(prompt));

        // Storing is asynchronous: until the fresh answer lands the old one may still be served, never an upstream call.
        await Eventually.TrueAsync(async () =>
        {
            var (hit, served) = await AskAsync(Plain(prompt));
            Assert.Equal("hit", hit);
            return served == "a fresh answer";
        }, because: "the no-cache answer replaced the entry");
        Assert.Equal(2, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task No_store_neither_looks_up_nor_stores()
    {
        var stored = CacheFixture.Marker("no-store-stored");
        Assert.Equal("miss", (await AskAsync(Plain(stored))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(stored))).Cache);
        Assert.Equal("bypass", (await AskAsync(Plain(stored), configure: Header("Cache-Control", "no-store"))).Cache);
        Assert.Equal(2, _f.UpstreamCalls(stored));

        var fresh = CacheFixture.Marker("no-store-fresh");
        Assert.Equal("bypass", (await AskAsync(Plain(fresh), configure: Header("Cache-Control", "no-store"))).Cache);
        await Task.Delay(300);
        Assert.Equal("miss", (await AskAsync(Plain(fresh))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(fresh))).Cache);
        Assert.Equal(2, _f.UpstreamCalls(fresh));
    }

    [Fact]
    public async Task Cache_ttl_header_and_tenant_ttl_expire_entries_on_the_clock()
    {
        var shortLived = CacheFixture.Marker("ttl-header");
        var longLived = CacheFixture.Marker("ttl-default");
        var tenantTtl = CacheFixture.Marker("ttl-tenant");
        var ttlToken = CacheFixture.TokenOf("ttl");
        Assert.Equal("miss", (await AskAsync(Plain(shortLived), configure: Header("x-roxy-cache-ttl", "30"))).Cache);
        Assert.Equal("miss", (await AskAsync(Plain(longLived))).Cache);
        Assert.Equal("miss", (await AskAsync(Plain(tenantTtl), ttlToken)).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(shortLived))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(tenantTtl), ttlToken)).Cache);

        _f.Clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("miss", (await AskAsync(Plain(shortLived))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(longLived))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(tenantTtl), ttlToken)).Cache);

        _f.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("miss", (await AskAsync(Plain(tenantTtl), ttlToken)).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(longLived))).Cache);

        Assert.Equal(2, _f.UpstreamCalls(shortLived));
        Assert.Equal(1, _f.UpstreamCalls(longLived));
        Assert.Equal(2, _f.UpstreamCalls(tenantTtl));
    }

    [Fact]
    public async Task Cache_ttl_zero_looks_up_but_does_not_store_and_a_bad_ttl_is_refused()
    {
        var prompt = CacheFixture.Marker("ttl-zero");
        Assert.Equal("miss", (await AskAsync(Plain(prompt), configure: Header("x-roxy-cache-ttl", "0"))).Cache);
        await Task.Delay(300);
        Assert.Equal("miss", (await AskAsync(Plain(prompt))).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(prompt), configure: Header("x-roxy-cache-ttl", "0"))).Cache);
        Assert.Equal(2, _f.UpstreamCalls(prompt));

        foreach (var bad in new[] { "soon", "-5", "1.5" })
        {
            var response = await _f.Roxy.PostChatAsync(CacheFixture.AdminToken, Plain(prompt), Header("x-roxy-cache-ttl", bad));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal("x-roxy-cache-ttl", error["param"]!.GetValue<string>());
            Assert.Equal("bypass", CacheHeader(response));
        }

        Assert.Equal(2, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task A_tenant_with_the_cache_disabled_bypasses_it()
    {
        var prompt = CacheFixture.Marker("disabled");
        Assert.Equal("bypass", (await AskAsync(Plain(prompt), CacheFixture.TokenOf("off"))).Cache);
        await Task.Delay(300);
        Assert.Equal("bypass", (await AskAsync(Plain(prompt), CacheFixture.TokenOf("off"))).Cache);
        Assert.Equal(2, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Deterministic_mode_caches_only_temperature_zero_or_a_seed()
    {
        var token = CacheFixture.TokenOf("det");
        var zero = CacheFixture.Marker("det-zero");
        var seeded = CacheFixture.Marker("det-seed");
        var warm = CacheFixture.Marker("det-warm");
        var unset = CacheFixture.Marker("det-unset");

        Assert.Equal("miss", (await AskAsync(Plain(zero, ",\"temperature\":0"), token)).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(zero, ",\"temperature\":0"), token)).Cache);
        Assert.Equal("miss", (await AskAsync(Plain(seeded, ",\"seed\":7,\"temperature\":0.9"), token)).Cache);
        Assert.Equal("hit", (await AskAsync(Plain(seeded, ",\"seed\":7,\"temperature\":0.9"), token)).Cache);
        Assert.Equal("bypass", (await AskAsync(Plain(warm, ",\"temperature\":0.7"), token)).Cache);
        Assert.Equal("bypass", (await AskAsync(Plain(warm, ",\"temperature\":0.7"), token)).Cache);
        Assert.Equal("bypass", (await AskAsync(Plain(unset), token)).Cache);
        Assert.Equal("bypass", (await AskAsync(Plain(unset), token)).Cache);

        Assert.Equal(1, _f.UpstreamCalls(zero));
        Assert.Equal(1, _f.UpstreamCalls(seeded));
        Assert.Equal(2, _f.UpstreamCalls(warm));
        Assert.Equal(2, _f.UpstreamCalls(unset));
    }

    [Fact]
    public async Task More_than_one_choice_is_never_cached()
    {
        var prompt = CacheFixture.Marker("n2");
        Assert.Equal("bypass", (await AskAsync(Plain(prompt, ",\"n\":2"))).Cache);
        await Task.Delay(300);
        Assert.Equal("bypass", (await AskAsync(Plain(prompt, ",\"n\":2"))).Cache);
        Assert.Equal(2, _f.UpstreamCalls(prompt));
        // The same prompt with one choice is a request of its own.
        Assert.Equal("miss", (await AskAsync(Plain(prompt, ",\"n\":1"))).Cache);
    }
}
