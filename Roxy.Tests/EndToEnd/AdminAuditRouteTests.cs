using System.Net;

namespace Roxy.Tests.EndToEnd;

/// <summary>The audit route of SPEC §4a: one log for both doors, each entry with its channel.</summary>
[Collection(AdminKeyRoutesGroup.Name)]
public sealed class AdminAuditRouteTests(AdminKeyRoutesFixture f)
{
    [Fact]
    public async Task The_same_operation_by_chat_and_by_the_api_is_audited_alike_with_its_channel()
    {
        var token = AdminKeyRoutesFixture.Admin("audit");
        Assert.Contains("✅", await f.SayAsync(token, "#roxy add model audited openai:gpt-4o-mini"), StringComparison.Ordinal);
        Assert.Contains("🗑️", await f.SayAsync(token, "#roxy remove model audited"), StringComparison.Ordinal);
        var (put, _) = await f.CallAsync(HttpMethod.Put, "admin/tenants/audit/rules/audited", AdminKeyRoutesFixture.OperatorToken, """{"targets":["openai:gpt-4o-mini"]}""");
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var (removed, _) = await f.CallAsync(HttpMethod.Delete, "admin/tenants/audit/rules/audited", token);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);

        var (response, body) = await f.CallAsync(HttpMethod.Get, "admin/tenants/audit/audit?limit=4", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entries = body!["data"]!.AsArray().Select(e => (Action: e!["action"]!.GetValue<string>(), Channel: e["channel"]!.GetValue<string>(), Token: e["token_id"]!.GetValue<string>())).ToArray();
        Assert.Equal(4, entries.Length);
        // Newest first; a removal reads the same from either door.
        Assert.Equal(("remove model audited", "api"), (entries[0].Action, entries[0].Channel));
        Assert.Equal(("put model audited openai:gpt-4o-mini fallback", "api", "operator"), entries[1]);
        Assert.Equal(("remove model audited", "chat"), (entries[2].Action, entries[2].Channel));
        Assert.Equal(("add model audited openai:gpt-4o-mini", "chat"), (entries[3].Action, entries[3].Channel));
        Assert.Equal(entries[0].Token, entries[2].Token);
        Assert.StartsWith("t-", entries[0].Token, StringComparison.Ordinal);

        var chat = await f.SayAsync(token, "#roxy audit 4");
        Assert.Contains("| api | `put model audited openai:gpt-4o-mini fallback` |", chat, StringComparison.Ordinal);
        Assert.Contains("| chat | `add model audited openai:gpt-4o-mini` |", chat, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("")]
    public async Task A_limit_outside_1_to_1000_is_400(string limit)
    {
        var (response, body) = await f.CallAsync(HttpMethod.Get, $"admin/tenants/audit/audit?limit={limit}", AdminKeyRoutesFixture.Admin("audit"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("limit", body!["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_default_and_largest_limits_are_accepted()
    {
        Assert.Equal(HttpStatusCode.OK, (await f.CallAsync(HttpMethod.Get, "admin/tenants/audit/audit", AdminKeyRoutesFixture.Admin("audit"))).Response.StatusCode);
        var (response, body) = await f.CallAsync(HttpMethod.Get, "admin/tenants/audit/audit?limit=1000", AdminKeyRoutesFixture.Admin("audit"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body!["data"]!.AsArray().Count <= 1000);
    }
}
