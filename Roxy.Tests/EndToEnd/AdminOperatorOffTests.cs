using System.Net;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>Without ROXY_ADMIN_TOKEN the operator routes answer 404 saying how to enable them; a tenant's admin routes still work.</summary>
public sealed class AdminOperatorOffTests
{
    private const string Admin = "operator-off-admin-token-0123456789";

    [Fact]
    public async Task Operator_routes_are_404_with_the_enabling_message_while_tenant_routes_serve_their_admin()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("operator_off");
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            cache: { enabled: false }
            """;
        await using var roxy = await RoxyTestHost.StartAsync(yaml, new Dictionary<string, string?> { ["ROXY_TOKEN"] = Admin }, postgres);

        var routes = new (HttpMethod Method, string Path, string? Json)[]
        {
            (HttpMethod.Get, "admin/tenants", null),
            (HttpMethod.Post, "admin/tenants", """{"id":"new-one"}"""),
            (HttpMethod.Delete, "admin/tenants/default", null),
            (HttpMethod.Put, "admin/tenants/default/budget", """{"daily_usd":1}"""),
        };
        foreach (var (method, path, json) in routes)
        {
            foreach (var token in new[] { Admin, null, "some-guess-0123456789" })
            {
                var (status, body) = await AdminFixture.CallAsync(roxy, method, path, token, json);
                Assert.Equal(HttpStatusCode.NotFound, status);
                Assert.Equal("operator_routes_disabled", body!["error"]!["code"]!.GetValue<string>());
                Assert.Contains("ROXY_ADMIN_TOKEN", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await AdminFixture.CallAsync(roxy, HttpMethod.Get, "admin/tenants/default/tokens", Admin)).Status);
    }
}
