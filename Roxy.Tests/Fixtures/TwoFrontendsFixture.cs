using Microsoft.Extensions.Hosting;
using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// A cluster as deployed: two silo hosts and two Roxy.Api frontends (Orleans clients) on one PostgreSQL, in front of one
/// fake OpenAI upstream. Tenant default has one key with room to spare and a round-robin rule from the YAML.
/// </summary>
public sealed class TwoFrontendsFixture : IAsyncLifetime
{
    public const string Token = "two-frontends-admin-token-0123456789";
    private readonly List<IHost> _silos = [];

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost A { get; private set; } = null!;
    public RoxyTestHost B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("two_frontends");
        const string clusterId = "roxy-two-frontends";
        _silos.Add(await SiloHost.StartAsync(postgres, clusterId));
        _silos.Add(await SiloHost.StartAsync(postgres, clusterId));
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["TWO_KEY"] = "sk-two-frontends-0123456789" };
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: TWO_KEY, provider: openai, max_rpm: 100000, max_tpm: 1000000000 }
            model_rules:
              - { source_model: rr-model, target_models: [openai:rr-a, openai:rr-b], selection_policy: roundrobin }
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
            cluster: { mode: cluster, cluster_id: {{clusterId}} }
            # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
            cache: { enabled: false }
            """;
        A = await RoxyTestHost.StartAsync(yaml, env, postgres);
        B = await RoxyTestHost.StartAsync(yaml, env, postgres);
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        foreach (var silo in _silos)
        {
            await SiloHost.StopAsync(silo);
        }

        await Upstream.DisposeAsync();
    }
}
