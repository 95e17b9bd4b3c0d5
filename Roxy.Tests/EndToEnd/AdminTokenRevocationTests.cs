using System.Net;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// A token issued on one frontend works on the other; revoked, it is refused by the frontend that revoked it at once and
/// by the other within 5 s, even after that one has verified it before. Two silos, two frontends, one PostgreSQL.
/// </summary>
public sealed class AdminTokenRevocationTests(TwoFrontendsFixture cluster) : IClassFixture<TwoFrontendsFixture>
{
    private const string Chat = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";

    private static async Task<HttpStatusCode> ChatAsync(RoxyTestHost roxy, string token)
    {
        using var response = await roxy.PostChatAsync(token, Chat);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_revoked_token_is_refused_at_once_here_and_within_five_seconds_on_the_other_frontend()
    {
        var (status, issued) = await AdminFixture.CallAsync(cluster.A, HttpMethod.Post, "admin/tenants/default/tokens", TwoFrontendsFixture.Token, """{"role":"member","name":"travels"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var token = issued!["token"]!.GetValue<string>();
        var id = issued["id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.OK, await ChatAsync(cluster.A, token));
        await Eventually.TrueAsync(async () => await ChatAsync(cluster.B, token) == HttpStatusCode.OK, TimeSpan.FromSeconds(5), "the issued token should work on the other frontend");
        // B has verified it now (its fast path remembers verified tokens): that must not outlive the revocation.
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(cluster.B, token));

        var (revoked, _) = await AdminFixture.CallAsync(cluster.A, HttpMethod.Delete, $"admin/tenants/default/tokens/{id}", TwoFrontendsFixture.Token);
        Assert.Equal(HttpStatusCode.NoContent, revoked);
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(cluster.A, token));
        await Eventually.TrueAsync(async () => await ChatAsync(cluster.B, token) == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "the other frontend should refuse the revoked token within 5 s");
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(cluster.A, token));
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(cluster.B, TwoFrontendsFixture.Token));
    }
}
