using System.Net;
using System.Text.Json;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// OpenRouter as configuration: <c>http_referer</c> / <c>x_title</c> become its attribution headers on every request,
/// and model ids keep their slash (<c>openrouter:anthropic/claude-3.5-sonnet</c> reaches it as
/// <c>anthropic/claude-3.5-sonnet</c>). Two fake upstreams, one per provider, record what each received.
/// </summary>
public sealed class OpenRouterTests : IClassFixture<OpenRouterTests.Host>
{
    private const string SlashModel = "anthropic/claude-3.5-sonnet";
    private readonly Host _host;

    public OpenRouterTests(Host host)
    {
        _host = host;
        _host.OpenRouter.Reset();
        _host.OpenAi.Reset();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Configured_referer_and_title_reach_openrouter_and_the_clients_own_do_not(bool stream)
    {
        var body = $$"""{"model":"openrouter:{{SlashModel}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";
        using var response = await _host.Roxy.PostChatAsync(Host.Token, body, r =>
        {
            r.Headers.TryAddWithoutValidation("HTTP-Referer", "https://client.example");
            r.Headers.TryAddWithoutValidation("X-Title", "Client App");
            r.Headers.TryAddWithoutValidation("Cookie", "session=secret-cookie");
            r.Headers.TryAddWithoutValidation("X-Custom-Client", "leak-me");
        });
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hello", text, StringComparison.Ordinal);
        Assert.Equal("openrouter", response.Headers.GetValues("x-roxy-provider").Single());
        var upstream = Assert.Single(_host.OpenRouter.Requests);
        Assert.Equal("https://myapp.example", upstream.Headers["HTTP-Referer"]);
        Assert.Equal("My App", upstream.Headers["X-Title"]);
        Assert.Equal("Bearer " + Host.OpenRouterKey, upstream.Headers["Authorization"]);
        Assert.False(upstream.Headers.ContainsKey("Cookie"));
        Assert.False(upstream.Headers.ContainsKey("X-Custom-Client"));
        Assert.Equal(SlashModel, ModelOf(upstream));
        Assert.Empty(_host.OpenAi.Requests);
    }

    [Fact]
    public async Task A_provider_without_attribution_gets_neither_header_even_when_the_client_sends_them()
    {
        using var response = await _host.Roxy.PostChatAsync(Host.Token,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""",
            r =>
            {
                r.Headers.TryAddWithoutValidation("HTTP-Referer", "https://client.example");
                r.Headers.TryAddWithoutValidation("X-Title", "Client App");
            });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = Assert.Single(_host.OpenAi.Requests);
        Assert.Equal("Bearer " + Host.OpenAiKey, upstream.Headers["Authorization"]);
        Assert.False(upstream.Headers.ContainsKey("HTTP-Referer"));
        Assert.False(upstream.Headers.ContainsKey("X-Title"));
        Assert.Empty(_host.OpenRouter.Requests);
    }

    [Fact]
    public async Task Sdk_request_for_a_slash_model_id_reaches_openrouter_without_the_prefix()
    {
        var chat = _host.Roxy.Chat("openrouter:" + SlashModel, Host.Token);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);
        var streamed = new List<string>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            streamed.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal(SlashModel, completion.Model);
        Assert.Equal("Hello from the fake upstream", string.Concat(streamed));
        var requests = _host.OpenRouter.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(SlashModel, ModelOf(r)));
        Assert.All(requests, r => Assert.Equal("/v1/chat/completions", r.Path));
    }

    [Fact]
    public async Task Rule_target_with_a_slash_routes_the_source_model_to_openrouter_as_the_bare_id()
    {
        var chat = _host.Roxy.Chat("sonnet", Host.Token);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal(SlashModel, completion.Model);
        var upstream = Assert.Single(_host.OpenRouter.Requests);
        Assert.Equal(SlashModel, ModelOf(upstream));
        Assert.Equal("Bearer " + Host.OpenRouterKey, upstream.Headers["Authorization"]);
        Assert.Equal("My App", upstream.Headers["X-Title"]);
        Assert.Empty(_host.OpenAi.Requests);

        using var models = await _host.Roxy.SendAsync(HttpMethod.Get, "v1/models", Host.Token);
        using var list = JsonDocument.Parse(await models.Content.ReadAsStringAsync());
        var owners = list.RootElement.GetProperty("data").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("owned_by").GetString());
        Assert.Equal("roxy", owners["sonnet"]);
        Assert.Equal("openrouter", owners["openrouter:" + SlashModel]);
    }

    private static string? ModelOf(RecordedRequest request)
    {
        using var json = JsonDocument.Parse(request.Body);
        return json.RootElement.GetProperty("model").GetString();
    }

    /// <summary>Roxy with both providers on their own fake upstream; the rule <c>sonnet</c> targets the slash id.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public const string Token = "openrouter-admin-token-0123456789";
        public const string OpenRouterKey = "sk-or-v1-test-0123456789abcdef";
        public const string OpenAiKey = "sk-openai-test-0123456789abcdef";

        public FakeOpenAiServer OpenRouter { get; private set; } = null!;

        public FakeOpenAiServer OpenAi { get; private set; } = null!;

        public RoxyTestHost Roxy { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            OpenRouter = await FakeOpenAiServer.StartAsync();
            OpenAi = await FakeOpenAiServer.StartAsync();
            var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("openrouter");
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["ROXY_TOKEN"] = Token,
                ["OR_KEY"] = OpenRouterKey,
                ["OA_KEY"] = OpenAiKey,
            };
            Roxy = await RoxyTestHost.StartAsync($$"""
                listen_addr: ":8080"
                tokens:
                  - { token_env: ROXY_TOKEN, role: admin }
                api_keys:
                  - { key_env_var: OR_KEY, provider: openrouter }
                  - { key_env_var: OA_KEY, provider: openai }
                model_rules:
                  - source_model: sonnet
                    target_models: [openrouter:{{SlashModel}}]
                providers:
                  openrouter:
                    base_url: "{{OpenRouter.BaseUrl}}"
                    http_referer: "https://myapp.example"
                    x_title: "My App"
                  openai: { base_url: "{{OpenAi.BaseUrl}}" }
                # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
                cache: { enabled: false }
                """, environment, postgres);
        }

        public async Task DisposeAsync()
        {
            await Roxy.DisposeAsync();
            await OpenRouter.DisposeAsync();
            await OpenAi.DisposeAsync();
        }
    }
}
