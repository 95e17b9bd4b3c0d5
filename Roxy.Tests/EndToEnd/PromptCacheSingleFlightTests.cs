using System.Net;
using System.Text.Json.Nodes;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Single flight (issue 10 item 5): concurrent identical misses make one upstream call and the others are served its
/// answer as hits, in whichever mode they asked; when that call fails, the others go upstream themselves.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheSingleFlightTests
{
    private readonly CacheFixture _f;

    public PromptCacheSingleFlightTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static string Chat(string prompt, bool stream) =>
        $$"""{"model":"{{CacheFixture.Text}}","messages":[{"role":"user","content":"{{prompt}}"}],"stream":{{(stream ? "true" : "false")}}}""";

    private static string? CacheHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null;

    /// <summary>The answer's text, from a JSON answer or from a stream's content deltas.</summary>
    private static async Task<string> TextOfAsync(HttpResponseMessage response, bool stream)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!stream)
        {
            return JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        }

        var lines = CacheFixture.DataLines(body);
        Assert.Equal("[DONE]", lines[^1]);
        return string.Concat(lines[..^1].Select(l => JsonNode.Parse(l)!["choices"]!.AsArray())
            .Where(c => c.Count > 0).Select(c => c[0]!["delta"]?["content"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Twenty_identical_concurrent_requests_make_one_upstream_call()
    {
        var token = CacheFixture.TokenOf("flight");
        var prompt = CacheFixture.Marker("single-flight");
        // Slow enough that all twenty arrive while the first is still upstream; only one request can take this answer.
        _f.OpenAi.Enqueue(new FakeResponse { Content = "the one upstream answer", DelayBeforeHeaders = TimeSpan.FromMilliseconds(1500) });

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var stream = i % 2 == 1;
            var response = await _f.Roxy.PostChatAsync(token, Chat(prompt, stream));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (Cache: CacheHeader(response), Text: await TextOfAsync(response, stream));
        }));

        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.All(answers, a => Assert.Equal("the one upstream answer", a.Text));
        Assert.Equal(19, answers.Count(a => a.Cache == "hit"));
        Assert.Equal(1, answers.Count(a => a.Cache == "miss"));
        Assert.Equal(1, _f.OpenAi.CountFor(CacheFixture.OpenAiKeyOf("flight")));
    }

    [Fact]
    public async Task When_the_first_call_fails_the_waiters_go_upstream_themselves()
    {
        var token = CacheFixture.TokenOf("flight");
        var prompt = CacheFixture.Marker("failed-leader");
        // The first request's answer: a slow 400 (a refusal of the request, which cools no key down).
        _f.OpenAi.Enqueue(FakeResponse.Error(400, "invalid_request_error", null, "Scripted refusal.") with { DelayBeforeHeaders = TimeSpan.FromMilliseconds(1000) });

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => _f.Roxy.PostChatAsync(token, Chat(prompt, stream: false))));

        var refused = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.BadRequest);
        Assert.Contains("Scripted refusal.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var served = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.Equal(4, served.Count);
        foreach (var response in served)
        {
            Assert.Equal("Hello from the fake upstream", await TextOfAsync(response, stream: false));
        }

        var calls = _f.UpstreamCalls(prompt);
        Assert.True(calls is >= 2 and <= 5, $"{calls} upstream calls: the failed leader's, then the waiters' own");
    }
}
