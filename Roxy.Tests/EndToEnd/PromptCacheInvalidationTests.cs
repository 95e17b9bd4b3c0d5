using System.Net;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Invalidation (issue 10 item 6): <c>#roxy cache clear</c> makes every entry of the tenant miss at once, and a change
/// to a model rule makes that rule's entries miss while other rules' entries still hit.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheInvalidationTests
{
    private readonly CacheFixture _f;

    public PromptCacheInvalidationTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private async Task<(string? Cache, string? Model)> AskAsync(string token, string model, string prompt)
    {
        var response = await _f.Roxy.PostChatAsync(token, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return (response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null, JsonNode.Parse(body)!["model"]?.GetValue<string>());
    }

    private async Task<string> SayAsync(string token, string command)
    {
        var log = new CacheHeaderLog();
        ChatCompletion reply = await _f.Chat("anything", token, log).CompleteChatAsync([new UserChatMessage(command)]);
        Assert.Equal("roxy", reply.Model);
        Assert.Equal(["bypass"], log.Values);
        return reply.Content[0].Text;
    }

    [Fact]
    public async Task Cache_clear_makes_every_entry_of_the_tenant_miss()
    {
        var token = CacheFixture.TokenOf("clear");
        var a = CacheFixture.Marker("clear-a");
        var b = CacheFixture.Marker("clear-b");
        var elsewhere = CacheFixture.Marker("clear-other-tenant");
        Assert.Equal("miss", (await AskAsync(token, CacheFixture.Text, a)).Cache);
        Assert.Equal("miss", (await AskAsync(token, CacheFixture.Text4o, b)).Cache);
        Assert.Equal("miss", (await AskAsync(CacheFixture.TokenOf("iso"), CacheFixture.Text, elsewhere)).Cache);
        Assert.Equal("hit", (await AskAsync(token, CacheFixture.Text, a)).Cache);
        Assert.Equal("hit", (await AskAsync(token, CacheFixture.Text4o, b)).Cache);

        Assert.DoesNotContain("needs an admin token", await SayAsync(token, "#roxy cache clear"), StringComparison.Ordinal);

        Assert.Equal("miss", (await AskAsync(token, CacheFixture.Text, a)).Cache);
        Assert.Equal("miss", (await AskAsync(token, CacheFixture.Text4o, b)).Cache);
        Assert.Equal("hit", (await AskAsync(token, CacheFixture.Text, a)).Cache);
        Assert.Equal("hit", (await AskAsync(CacheFixture.TokenOf("iso"), CacheFixture.Text, elsewhere)).Cache);
        Assert.Equal(2, _f.UpstreamCalls(a));
        Assert.Equal(2, _f.UpstreamCalls(b));
        Assert.Equal(1, _f.UpstreamCalls(elsewhere));
    }

    [Fact]
    public async Task A_member_cannot_clear_the_cache()
    {
        var prompt = CacheFixture.Marker("member-clear");
        Assert.Equal("miss", (await AskAsync(CacheFixture.AdminToken, CacheFixture.Text, prompt)).Cache);

        Assert.Contains("needs an admin token", await SayAsync(CacheFixture.MemberToken, "#roxy cache clear"), StringComparison.Ordinal);

        Assert.Equal("hit", (await AskAsync(CacheFixture.AdminToken, CacheFixture.Text, prompt)).Cache);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task A_rule_change_makes_only_that_rules_entries_miss()
    {
        var token = CacheFixture.TokenOf("rules");
        Assert.Contains("inv-a", await SayAsync(token, "#roxy add model inv-a openai:gpt-4o-mini"), StringComparison.Ordinal);
        Assert.Contains("inv-b", await SayAsync(token, "#roxy add model inv-b openai:gpt-4o-mini"), StringComparison.Ordinal);
        var a = CacheFixture.Marker("rule-a");
        var b = CacheFixture.Marker("rule-b");
        Assert.Equal("miss", (await AskAsync(token, "inv-a", a)).Cache);
        Assert.Equal("miss", (await AskAsync(token, "inv-b", b)).Cache);
        Assert.Equal("hit", (await AskAsync(token, "inv-a", a)).Cache);

        // A second target, behind the first (fallback): the answer would be the same model, but the rule changed.
        await SayAsync(token, "#roxy add model inv-a openai:gpt-4o");
        Assert.Equal(("miss", "gpt-4o-mini"), await AskAsync(token, "inv-a", a));
        Assert.Equal("hit", (await AskAsync(token, "inv-b", b)).Cache);
        Assert.Equal("hit", (await AskAsync(token, "inv-a", a)).Cache);

        // The first target removed: the next answer comes from the one left, never from the cache.
        await SayAsync(token, "#roxy remove model inv-a openai:gpt-4o-mini");
        Assert.Equal(("miss", "gpt-4o"), await AskAsync(token, "inv-a", a));
        Assert.Equal("hit", (await AskAsync(token, "inv-b", b)).Cache);

        // The whole rule removed: the name goes to the provider as it is, a route of its own.
        await SayAsync(token, "#roxy remove model inv-a");
        Assert.Equal(("miss", "inv-a"), await AskAsync(token, "inv-a", a));
        Assert.Equal("hit", (await AskAsync(token, "inv-b", b)).Cache);

        Assert.Equal(4, _f.UpstreamCalls(a));
        Assert.Equal(1, _f.UpstreamCalls(b));
    }
}
