using System.Diagnostics;
using System.Net;
using OpenAI.Chat;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>Rules across two frontends of one cluster: changes spread within a second, round-robin stays even.</summary>
public sealed class ModelRuleClusterTests(TwoFrontendsFixture fixture, ITestOutputHelper output) : IClassFixture<TwoFrontendsFixture>
{
    private static readonly TimeSpan Spread = TimeSpan.FromSeconds(1);

    private static async Task<string> AnsweredByAsync(RoxyTestHost frontend, string model)
    {
        var response = await frontend.PostChatAsync(TwoFrontendsFixture.Token, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("x-roxy-model").Single();
    }

    private static async Task<string> SayAsync(RoxyTestHost frontend, string text)
    {
        ChatCompletion reply = await frontend.Chat("anything", TwoFrontendsFixture.Token).CompleteChatAsync([new UserChatMessage(text)]);
        return reply.Content[0].Text;
    }

    /// <summary>How long until <paramref name="frontend"/> answers <paramref name="model"/> with <paramref name="expected"/>, asking back to back.</summary>
    private static async Task<TimeSpan> TimeUntilAsync(RoxyTestHost frontend, string model, string expected)
    {
        var clock = Stopwatch.StartNew();
        while (await AnsweredByAsync(frontend, model) != expected)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{model} never reached {expected}");
            await Task.Delay(20);
        }

        return clock.Elapsed;
    }

    [Fact]
    public async Task A_rule_changed_by_chat_is_used_at_once_by_its_frontend_and_within_a_second_by_the_other()
    {
        // Both frontends serve the tenant already, without a rule for this name.
        Assert.Equal("spread-model", await AnsweredByAsync(fixture.A, "spread-model"));
        Assert.Equal("spread-model", await AnsweredByAsync(fixture.B, "spread-model"));

        Assert.Contains("✅", await SayAsync(fixture.A, "#roxy add model spread-model openai:spread-one"), StringComparison.Ordinal);
        Assert.Equal("spread-one", await AnsweredByAsync(fixture.A, "spread-model"));
        var added = await TimeUntilAsync(fixture.B, "spread-model", "spread-one");

        // A change to a rule the other frontend already holds in memory spreads the same way.
        await SayAsync(fixture.B, "#roxy add model spread-model openai:spread-two");
        Assert.Contains("🗑️", await SayAsync(fixture.B, "#roxy remove model spread-model openai:spread-one"), StringComparison.Ordinal);
        Assert.Equal("spread-two", await AnsweredByAsync(fixture.B, "spread-model"));
        var changed = await TimeUntilAsync(fixture.A, "spread-model", "spread-two");

        await SayAsync(fixture.A, "#roxy remove model spread-model");
        Assert.Equal("spread-model", await AnsweredByAsync(fixture.A, "spread-model"));
        var removed = await TimeUntilAsync(fixture.B, "spread-model", "spread-model");

        output.WriteLine($"spread: added {added.TotalMilliseconds:F0} ms, changed {changed.TotalMilliseconds:F0} ms, removed {removed.TotalMilliseconds:F0} ms");
        Assert.True(added < Spread && changed < Spread && removed < Spread, $"added {added.TotalMilliseconds:F0} ms, changed {changed.TotalMilliseconds:F0} ms, removed {removed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Round_robin_alternates_strictly_on_each_frontend_and_evenly_across_both()
    {
        var byFrontend = new Dictionary<RoxyTestHost, List<string>> { [fixture.A] = [], [fixture.B] = [] };
        for (var i = 0; i < 40; i++)
        {
            var frontend = i % 3 == 0 ? fixture.B : fixture.A; // uneven, interleaved traffic
            byFrontend[frontend].Add(await AnsweredByAsync(frontend, "rr-model"));
        }

        foreach (var (_, answers) in byFrontend)
        {
            Assert.All(answers, a => Assert.Contains(a, new[] { "rr-a", "rr-b" }));
            for (var i = 1; i < answers.Count; i++)
            {
                Assert.NotEqual(answers[i - 1], answers[i]);
            }
        }

        // Each frontend alternates on its own, so overall the targets differ by at most one per frontend.
        var all = byFrontend.Values.SelectMany(a => a).ToArray();
        Assert.InRange(all.Count(a => a == "rr-a") - all.Count(a => a == "rr-b"), -2, 2);
        Assert.Equal(all.Length, fixture.Upstream.Requests.Count(r => r.Body.Contains("\"rr-", StringComparison.Ordinal)));
    }
}
