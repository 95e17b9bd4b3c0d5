using System.Net;
using static Roxy.Tests.EndToEnd.AdminFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Every tenant and token route with each kind of caller (SPEC §4a): the operator, the tenant's admin, its member,
/// another tenant's admin, no token and an unknown token. Refused calls change nothing.
/// </summary>
public sealed class AdminCallerTests(AdminFixture fixture) : IClassFixture<AdminFixture>
{
    private const string Unknown = "not-a-token-of-anyone-0123456789";

    private async Task ExpectAsync(HttpMethod method, string path, string? json, params (string? Token, HttpStatusCode Status)[] cases)
    {
        foreach (var (token, expected) in cases)
        {
            var (status, body) = await fixture.CallAsync(method, path, token, json);
            Assert.True(expected == status, $"{method} {path} with {Who(token)}: expected {(int)expected}, got {(int)status} {body}");
            if ((int)status >= 400)
            {
                // OpenAI's error shape on every refusal.
                Assert.NotNull(body?["error"]?["message"]);
                Assert.NotNull(body?["error"]?["code"]);
            }
        }
    }

    private static string Who(string? token) => token switch
    {
        null => "no token",
        Operator => "the operator",
        AlphaAdmin => "alpha's admin",
        AlphaMember => "alpha's member",
        BetaAdmin => "beta's admin",
        _ => "an unknown token",
    };

    private static (string?, HttpStatusCode)[] OperatorOnly(HttpStatusCode success) =>
    [
        (AlphaAdmin, HttpStatusCode.Forbidden), (AlphaMember, HttpStatusCode.Forbidden), (BetaAdmin, HttpStatusCode.Forbidden),
        (null, HttpStatusCode.Unauthorized), (Unknown, HttpStatusCode.Unauthorized), (Operator, success),
    ];

    [Fact]
    public async Task Tenant_routes_are_for_the_operator_only()
    {
        await ExpectAsync(HttpMethod.Get, "admin/tenants", null, OperatorOnly(HttpStatusCode.OK));
        await ExpectAsync(HttpMethod.Post, "admin/tenants", """{"id":"callers-made"}""", OperatorOnly(HttpStatusCode.Created));
        await ExpectAsync(HttpMethod.Put, "admin/tenants/callers-made/budget", """{"daily_usd":1}""", OperatorOnly(HttpStatusCode.OK));
        await ExpectAsync(HttpMethod.Delete, "admin/tenants/callers-made", null, OperatorOnly(HttpStatusCode.NoContent));
    }

    [Fact]
    public async Task Token_routes_are_for_the_tenants_admin_and_the_operator()
    {
        await ExpectAsync(HttpMethod.Get, "admin/tenants/alpha/tokens", null,
            (AlphaMember, HttpStatusCode.Forbidden), (BetaAdmin, HttpStatusCode.NotFound), (null, HttpStatusCode.Unauthorized),
            (Unknown, HttpStatusCode.Unauthorized), (AlphaAdmin, HttpStatusCode.OK), (Operator, HttpStatusCode.OK));
        await ExpectAsync(HttpMethod.Post, "admin/tenants/alpha/tokens", """{"role":"member"}""",
            (AlphaMember, HttpStatusCode.Forbidden), (BetaAdmin, HttpStatusCode.NotFound), (null, HttpStatusCode.Unauthorized),
            (Unknown, HttpStatusCode.Unauthorized), (AlphaAdmin, HttpStatusCode.Created), (Operator, HttpStatusCode.Created));

        var (_, issued) = await fixture.CallAsync(HttpMethod.Post, "admin/tenants/alpha/tokens", AlphaAdmin, """{"role":"member","name":"to revoke"}""");
        var id = issued!["id"]!.GetValue<string>();
        await ExpectAsync(HttpMethod.Delete, $"admin/tenants/alpha/tokens/{id}", null,
            (AlphaMember, HttpStatusCode.Forbidden), (BetaAdmin, HttpStatusCode.NotFound), (null, HttpStatusCode.Unauthorized),
            (Unknown, HttpStatusCode.Unauthorized), (AlphaAdmin, HttpStatusCode.NoContent), (AlphaAdmin, HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Another_tenants_admin_meets_the_same_404_as_for_a_tenant_that_does_not_exist()
    {
        var (other, otherBody) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants/alpha/tokens", BetaAdmin);
        var (missing, missingBody) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants/no-such-tenant/tokens", Operator);
        Assert.Equal(HttpStatusCode.NotFound, other);
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("tenant_not_found", otherBody!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("tenant_not_found", missingBody!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_admin_authentication_runs_on_admin_routes_only()
    {
        // A failed authentication by the admin scheme logs one line under the handler's category: none may come from the
        // proxy routes, which keep their own lookup (with one scheme registered, ASP.NET Core would make it the default).
        const string category = "Roxy.Api.Apis.Admin.RoxyTokenAuthentication";
        var before = fixture.Roxy.Logs.Lines.Count(l => l.Contains(category, StringComparison.Ordinal));

        var (chat, _) = await fixture.CallAsync(HttpMethod.Post, "v1/chat/completions", Unknown,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        var (models, _) = await fixture.CallAsync(HttpMethod.Get, "v1/models", Unknown);
        Assert.Equal(HttpStatusCode.Unauthorized, chat);
        Assert.Equal(HttpStatusCode.Unauthorized, models);
        Assert.Equal(before, fixture.Roxy.Logs.Lines.Count(l => l.Contains(category, StringComparison.Ordinal)));

        var (admin, _) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants/alpha/tokens", Unknown);
        Assert.Equal(HttpStatusCode.Unauthorized, admin);
        Assert.True(fixture.Roxy.Logs.Lines.Count(l => l.Contains(category, StringComparison.Ordinal)) > before);
    }
}
