using System.Net;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary><c>#roxy add model</c>, <c>remove model</c> and <c>list models</c> typed into a chat, through the official OpenAI SDK.</summary>
public sealed class ModelCommandTests : IClassFixture<CommandsFixture>
{
    private readonly CommandsFixture _f;

    public ModelCommandTests(CommandsFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    private async Task<string> SayAsync(string token, string text)
    {
        ChatCompletion reply = await _f.Roxy.Chat("anything", token).CompleteChatAsync([new UserChatMessage(text)]);
        Assert.Equal("roxy", reply.Model);
        return reply.Content[0].Text;
    }

    private async Task<HttpResponseMessage> AskAsync(string model)
    {
        var response = await _f.Roxy.PostChatAsync(CommandsFixture.AdminToken, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private async Task<List<string>> ListedModelsAsync(string token)
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Get, "v1/models", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>())];
    }

    [Fact]
    public async Task Help_lists_the_model_commands()
    {
        var help = await SayAsync(CommandsFixture.MemberToken, "#roxy help");
        Assert.Contains("| `#roxy add model <source> <target> [policy]` | admin |", help, StringComparison.Ordinal);
        Assert.Contains("| `#roxy remove model <source> [target]` | admin |", help, StringComparison.Ordinal);
        Assert.Contains("| `#roxy list models` | any |", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rule_added_by_chat_is_used_by_the_same_frontend_at_once_listed_and_audited()
    {
        var token = CommandsFixture.AdminToken;
        // No rule yet: the name goes to the provider as it is.
        await AskAsync("chat-fresh");
        Assert.Equal("chat-fresh", JsonNode.Parse(_f.Upstream.Requests[^1].Body)!["model"]!.GetValue<string>());
        Assert.DoesNotContain("chat-fresh", await ListedModelsAsync(token));

        var added = await SayAsync(token, "#roxy add model chat-fresh openai:gpt-4o-mini");
        Assert.Contains("`chat-fresh` → `openai:gpt-4o-mini` (policy fallback)", added, StringComparison.Ordinal);

        var routed = await AskAsync("chat-fresh");
        Assert.Equal("gpt-4o-mini", routed.Headers.GetValues("x-roxy-model").Single());
        Assert.Equal("gpt-4o-mini", JsonNode.Parse(_f.Upstream.Requests[^1].Body)!["model"]!.GetValue<string>());
        var listed = await ListedModelsAsync(token);
        Assert.Contains("chat-fresh", listed);
        Assert.Contains("openai:gpt-4o-mini", listed);
        Assert.Contains("house-model", listed); // the config's rule is still there

        Assert.Contains("Removed the rule for `chat-fresh`", await SayAsync(token, "#roxy remove model chat-fresh"), StringComparison.Ordinal);
        var unrouted = await AskAsync("chat-fresh");
        Assert.Equal("chat-fresh", unrouted.Headers.GetValues("x-roxy-model").Single());
        Assert.DoesNotContain("chat-fresh", await ListedModelsAsync(token));

        var audit = (await _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("default")).GetAuditAsync(50)).Select(e => e.Action).ToArray();
        Assert.Contains("add model chat-fresh openai:gpt-4o-mini", audit);
        Assert.Contains("remove model chat-fresh", audit);
        Assert.Contains("add model chat-fresh openai:gpt-4o-mini", await SayAsync(token, "#roxy audit 50"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_may_list_rules_but_not_change_them()
    {
        var admin = CommandsFixture.Admin("modelroles");
        var member = CommandsFixture.Member("modelroles");
        await SayAsync(admin, "#roxy add model team-model gpt-4o");

        Assert.Contains("`#roxy add model` needs an admin token", await SayAsync(member, "#roxy add model team-model gpt-4o-mini"), StringComparison.Ordinal);
        Assert.Contains("`#roxy remove model` needs an admin token", await SayAsync(member, "#roxy remove model team-model"), StringComparison.Ordinal);
        var listed = await SayAsync(member, "#roxy list models");
        Assert.Contains("| `team-model` | fallback | runtime | `gpt-4o` | no |", listed, StringComparison.Ordinal);

        var audit = await _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("modelroles")).GetAuditAsync(10);
        Assert.Equal(["add model team-model gpt-4o"], audit.Select(e => e.Action));
    }

    [Fact]
    public async Task Config_owned_rules_are_refused_by_chat_because_the_yaml_owns_them()
    {
        var token = CommandsFixture.AdminToken;
        var change = await SayAsync(token, "#roxy add model house-model openai:gpt-4o");
        Assert.Contains("comes from the configuration file: the YAML owns it", change, StringComparison.Ordinal);
        var remove = await SayAsync(token, "#roxy remove model house-model");
        Assert.Contains("comes from the configuration file: the YAML owns it, so chat cannot remove it", remove, StringComparison.Ordinal);
        Assert.Contains("| `house-model` | fallback | config | `openai:gpt-4o-mini` | no |", await SayAsync(token, "#roxy list models"), StringComparison.Ordinal);

        var routed = await AskAsync("house-model");
        Assert.Equal("gpt-4o-mini", routed.Headers.GetValues("x-roxy-model").Single());
    }

    [Fact]
    public async Task Mistakes_get_friendly_answers_and_change_nothing()
    {
        var token = CommandsFixture.Admin("mistakes");
        Assert.Contains("The policy `fallbak` is not one of random, roundrobin, fallback.", await SayAsync(token, "#roxy add model m1 gpt-4o fallbak"), StringComparison.Ordinal);
        Assert.Contains("'opnai' is not a known provider (did you mean 'openai'?)", await SayAsync(token, "#roxy add model m1 opnai:gpt-4o"), StringComparison.Ordinal);
        Assert.Contains("names provider 'openai' but no model", await SayAsync(token, "#roxy add model m1 openai:"), StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy add model <source> <target> [policy]`", await SayAsync(token, "#roxy add model m1"), StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy remove model <source> [target]`", await SayAsync(token, "#roxy remove model"), StringComparison.Ordinal);
        Assert.Contains("no rule for `m1`", await SayAsync(token, "#roxy remove model m1"), StringComparison.Ordinal);

        await SayAsync(token, "#roxy add model m2 openai:gpt-4o");
        Assert.Contains("has no target `gpt-4o`; its targets: `openai:gpt-4o`", await SayAsync(token, "#roxy remove model m2 gpt-4o"), StringComparison.Ordinal);
        Assert.Contains("already sends to `openai:gpt-4o` with policy fallback; nothing changed", await SayAsync(token, "#roxy add model m2 openai:gpt-4o"), StringComparison.Ordinal);

        // An embedding rule fails over between providers, never between models.
        await SayAsync(token, "#roxy add model vectors openai:text-embedding-3-small");
        Assert.Contains("`openrouter:openai/text-embedding-3-small`", await SayAsync(token, "#roxy add model vectors openrouter:openai/text-embedding-3-small"), StringComparison.Ordinal);
        var mixed = await SayAsync(token, "#roxy add model vectors openai:text-embedding-3-large");
        Assert.Contains("is an embedding rule", mixed, StringComparison.Ordinal);
        Assert.Contains("may differ only in provider, not in model", mixed, StringComparison.Ordinal);

        // A key typed where a model belongs is neither stored nor echoed.
        var key = await SayAsync(token, "#roxy add model m3 sk-proj-0123456789abcdefghijklmn");
        Assert.Contains("looks like a provider key", key, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdefghijklmn", key, StringComparison.Ordinal);

        var audit = await _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("mistakes")).GetAuditAsync(50);
        Assert.DoesNotContain(audit, e => e.Action.Contains("m1", StringComparison.Ordinal) || e.Action.Contains("m3", StringComparison.Ordinal)
            || e.Action.Contains("large", StringComparison.Ordinal));
        Assert.Single(audit, e => e.Action.StartsWith("add model m2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task List_models_shows_each_rule_with_policy_owner_and_targets()
    {
        var admin = CommandsFixture.Admin("listing");
        Assert.Contains("no model rules yet", await SayAsync(admin, "#roxy list models"), StringComparison.Ordinal);

        await SayAsync(admin, "#roxy add model sonnet openrouter:anthropic/claude-3.5-sonnet");
        var second = await SayAsync(admin, "#roxy add model sonnet claude-3-5-sonnet-latest roundrobin");
        Assert.Contains("`claude-3-5-sonnet-latest` (anthropic, inferred)", second, StringComparison.Ordinal);
        Assert.Contains("(policy roundrobin)", second, StringComparison.Ordinal);
        await SayAsync(admin, "#roxy add model cheap gpt-4o-mini random");

        var listed = await SayAsync(CommandsFixture.Member("listing"), "#roxy list models");
        Assert.Contains("| source | policy | owner | targets | context-length failover |", listed, StringComparison.Ordinal);
        Assert.Contains("| `sonnet` | roundrobin | runtime | `openrouter:anthropic/claude-3.5-sonnet`, `claude-3-5-sonnet-latest` | no |", listed, StringComparison.Ordinal);
        Assert.Contains("| `cheap` | random | runtime | `gpt-4o-mini` | no |", listed, StringComparison.Ordinal);
        Assert.True(listed.IndexOf("`sonnet`", StringComparison.Ordinal) < listed.IndexOf("`cheap`", StringComparison.Ordinal), "rules in the order they were added");

        // The OpenRouter id keeps its slash, in the rule and in /v1/models.
        var models = await ListedModelsAsync(CommandsFixture.Member("listing"));
        Assert.Equal(["sonnet", "cheap", "openrouter:anthropic/claude-3.5-sonnet", "claude-3-5-sonnet-latest", "gpt-4o-mini"], models);
    }
}
