using System.Net;
using OpenAI.Chat;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Tracing;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>A request's trace answers from any frontend of the cluster, whichever served it.</summary>
public sealed class RequestTraceClusterTests(TwoFrontendsFixture fixture) : IClassFixture<TwoFrontendsFixture>
{
    [Fact]
    public async Task A_request_served_by_one_frontend_is_explained_by_the_other()
    {
        var result = await fixture.A.Chat("rr-model", TwoFrontendsFixture.Token).CompleteChatAsync([new UserChatMessage("hi from A")]);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-request-id", out var id));
        var servedBy = fixture.A.App.Services.GetRequiredService<TraceRecorder>().Frontend;
        Assert.NotEqual(servedBy, fixture.B.App.Services.GetRequiredService<TraceRecorder>().Frontend);

        // B never saw the request: only the cluster's trace grain can answer.
        string? why = null;
        await Eventually.TrueAsync(async () =>
        {
            ChatCompletion reply = await fixture.B.Chat("rr-model", TwoFrontendsFixture.Token).CompleteChatAsync([new UserChatMessage($"#roxy why {id}")]);
            why = reply.Content[0].Text;
            return why.Contains($"**Request `{id}`**", StringComparison.Ordinal);
        }, because: "frontend B never found the request A served");
        Assert.Contains($"served by `{servedBy}`", why, StringComparison.Ordinal);
        Assert.Contains("- rule: `rr-model`", why, StringComparison.Ordinal);
        Assert.Contains("200 success", why, StringComparison.Ordinal);

        using var route = await fixture.B.SendAsync(HttpMethod.Get, $"admin/requests/{id}", TwoFrontendsFixture.Token);
        Assert.Equal(HttpStatusCode.OK, route.StatusCode);
        Assert.Contains(servedBy, await route.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
