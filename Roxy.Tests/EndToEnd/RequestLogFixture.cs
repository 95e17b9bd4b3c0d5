using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy with <c>logging.format: json</c> in front of a fake OpenAI upstream; its console output is kept as the real
/// JSON console formatter renders it (<see cref="ConsoleFormattedLogs"/>). Only listed models are served.
/// </summary>
public sealed class RequestLogFixture : IAsyncLifetime
{
    public const string Token = "request-log-token-0123456789";

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    /// <summary>The lines Roxy's console would print.</summary>
    public ConsoleFormattedLogs Console => Roxy.App.Services.GetRequiredService<ConsoleFormattedLogs>();

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("requestlog");
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["LOG_TOKEN"] = Token,
            ["LOG_KEY"] = "sk-request-log-key-abcdefghijklmnop",
        };
        var yaml = $$"""
            logging: { format: json }
            tokens: [{ token_env: LOG_TOKEN, role: admin }]
            api_keys: [{ key_env_var: LOG_KEY, provider: openai }]
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
            model_rules:
              - { source_model: smart, target_models: [openai:gpt-4o-mini] }
              - { source_model: embed, target_models: [openai:text-embedding-3-small] }
            models: { allow_unlisted: false }
            # the log line of a routed request, not the prompt cache
            cache: { enabled: false }
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, env, postgres, builder =>
        {
            builder.Services.AddSingleton<ConsoleFormattedLogs>();
            builder.Services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<ConsoleFormattedLogs>());
        });
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
