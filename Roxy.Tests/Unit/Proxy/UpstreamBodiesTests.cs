using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Roxy.Api.Configuration;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Providers.OpenAi;
using Roxy.Api.Proxy;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Proxy;

/// <summary>What each target of an Anthropic Messages request is sent.</summary>
public sealed class UpstreamBodiesTests : IDisposable
{
    private const string Messages = """{"model":"claude-x","max_tokens":300,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}""";

    private readonly HttpClient _http = new();
    private readonly ProxyRequest _request;

    public UpstreamBodiesTests()
    {
        var body = new PooledBuffer(256);
        body.Write(Encoding.UTF8.GetBytes(Messages));
        Assert.Null(MessagesRequestReader.TryRead(body.Span, countTokens: false, out var info));
        _request = new ProxyRequest(new DefaultHttpContext(), "req_1", new TenantIdentity("acme", "t", TenantRole.Member), body, info);
    }

    public void Dispose()
    {
        _request.ChatForm?.Dispose();
        _request.Body.Dispose();
        _http.Dispose();
    }

    private static ResolvedProvider Settings(string name, ProviderKind kind, string baseUrl) =>
        new(name, kind, new Uri(baseUrl), new Dictionary<string, string>(),
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    private JsonNode Build(Api.Providers.IProviderClient provider, string model)
    {
        Assert.Null(UpstreamBodies.Build(_request, provider, model, out var body));
        using (body)
        {
            return JsonNode.Parse(Encoding.UTF8.GetString(body!.Span))!;
        }
    }

    [Fact]
    public void An_anthropic_target_gets_the_clients_bytes_with_only_the_model_replaced()
    {
        var sent = Build(new AnthropicProvider(Settings("anthropic", ProviderKind.Anthropic, "https://api.anthropic.com/v1"), _http), "claude-sonnet-4-5");
        Assert.Equal(Messages.Replace("claude-x", "claude-sonnet-4-5", StringComparison.Ordinal), sent.ToJsonString());
        Assert.Null(_request.ChatForm);
    }

    [Fact]
    public void OpenAIs_own_api_gets_max_completion_tokens_and_other_servers_max_tokens()
    {
        var openAi = Build(new OpenAiCompatibleProvider(Settings("openai", ProviderKind.OpenAi, "https://api.openai.com/v1"), _http), "o3");
        Assert.Equal(300, openAi["max_completion_tokens"]!.GetValue<int>());
        Assert.Null(openAi["max_tokens"]);
        Assert.Null(openAi["thinking"]);

        // A rule mixing both kinds translates once per kind, and each gets its own name for the budget.
        var vllm = Build(new OpenAiCompatibleProvider(Settings("vllm", ProviderKind.OpenAi, "http://10.0.0.5:8000/v1"), _http), "qwen3");
        Assert.Equal(300, vllm["max_tokens"]!.GetValue<int>());
        Assert.Null(vllm["max_completion_tokens"]);
        Assert.Equal("qwen3", vllm["model"]!.GetValue<string>());
    }
}
