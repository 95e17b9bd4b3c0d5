using System.Net;
using System.Text.Json.Nodes;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The key over real HTTP (issue 10 item 2): what a request means decides it, not how it is spelled; the ignore-list
/// (<c>user</c>, <c>metadata</c>, <c>store</c>, <c>stream</c>, <c>stream_options</c>) does not count, anything that
/// changes the answer does; and tenants never share an entry.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheKeyTests
{
    private const string CityTool = """{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";
    private const string TownTool = """{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"town":{"type":"string"}}}}}""";
    private const string SchemaFormat = """{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}""";

    private readonly CacheFixture _f;

    public PromptCacheKeyTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private async Task<(string? Cache, JsonNode Answer)> AskAsync(string json, string token = CacheFixture.AdminToken)
    {
        var response = await _f.Roxy.PostChatAsync(token, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return (response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null, JsonNode.Parse(body)!);
    }

    [Fact]
    public async Task Key_order_whitespace_and_number_spelling_do_not_change_the_key()
    {
        var prompt = CacheFixture.Marker("spelling");
        var (first, _) = await AskAsync($$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}],"temperature":0.5,"max_tokens":40}""");
        Assert.Equal("miss", first);

        string[] sameMeaning =
        [
            $$$"""{"max_tokens":40,"temperature":0.5,"messages":[{"content":"{{{prompt}}}","role":"user"}],"model":"cached"}""",
            $$$"""{ "model" : "cached" ,"messages" : [ { "role" : "user" , "content" : "{{{prompt}}}" } ] , "temperature" : 5e-1 , "max_tokens" : 40 }""",
            $$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}],"temperature":0.50,"max_tokens":40}""",
        ];
        foreach (var json in sameMeaning)
        {
            Assert.Equal("hit", (await AskAsync(json)).Cache);
        }

        Assert.Equal(1, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task The_ignore_list_does_not_change_the_key()
    {
        var prompt = CacheFixture.Marker("ignored");
        var plain = $$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}]}""";
        Assert.Equal("miss", (await AskAsync(plain)).Cache);

        Assert.Equal("hit", (await AskAsync($$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}],"user":"alice"}""")).Cache);
        Assert.Equal("hit", (await AskAsync($$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}],"user":"bob","metadata":{"team":"a"},"store":false}""")).Cache);
        Assert.Equal("hit", (await AskAsync($$$"""{"model":"cached","stream":false,"messages":[{"role":"user","content":"{{{prompt}}}"}],"metadata":{"team":"b"}}""")).Cache);

        Assert.Equal(1, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Anything_that_changes_the_answer_changes_the_key()
    {
        var prompt = CacheFixture.Marker("semantic");
        var messages = $$$"""[{"role":"user","content":"{{{prompt}}}"}]""";
        Assert.Equal("miss", (await AskAsync($$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5}""")).Cache);

        string[] different =
        [
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.6}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"max_tokens":10}""",
            $$$"""{"model":"cached","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"{{{prompt}}}"}],"temperature":0.5}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"tools":[{{{CityTool}}}]}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"tools":[{{{TownTool}}}]}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"response_format":{"type":"json_object"}}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"response_format":{{{SchemaFormat}}}}""",
            $$$"""{"model":"cached","messages":{{{messages}}},"temperature":0.5,"some_future_field":true}""",
            $$$"""{"model":"cached-4o","messages":{{{messages}}},"temperature":0.5}""",
        ];
        foreach (var json in different)
        {
            Assert.Equal("miss", (await AskAsync(json)).Cache);
        }

        Assert.Equal(1 + different.Length, _f.UpstreamCalls(prompt));
        // Each of them was stored under its own key.
        Assert.Equal("hit", (await AskAsync(different[5])).Cache);
        Assert.Equal(1 + different.Length, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task Tenants_never_share_an_entry()
    {
        var prompt = CacheFixture.Marker("tenants");
        var json = $$$"""{"model":"cached","messages":[{"role":"user","content":"{{{prompt}}}"}]}""";
        Assert.Equal("miss", (await AskAsync(json)).Cache);
        Assert.Equal("hit", (await AskAsync(json)).Cache);

        Assert.Equal("miss", (await AskAsync(json, CacheFixture.TokenOf("iso"))).Cache);
        Assert.Equal("hit", (await AskAsync(json, CacheFixture.TokenOf("iso"))).Cache);
        Assert.Equal("hit", (await AskAsync(json)).Cache);

        Assert.Equal(2, _f.UpstreamCalls(prompt));
        // Each tenant's one miss went out with its own key.
        Assert.Equal(1, _f.OpenAi.Requests.Count(r => r.ApiKey == CacheFixture.OpenAiKeyOf("iso") && r.Body.Contains(prompt, StringComparison.Ordinal)));
        Assert.Equal(1, _f.OpenAi.Requests.Count(r => r.ApiKey == CacheFixture.OpenAiKey && r.Body.Contains(prompt, StringComparison.Ordinal)));
    }
}
