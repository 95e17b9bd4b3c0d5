using Roxy.Api.Hosting;

namespace Roxy.Tests.EndToEnd;

/// <summary>Bad start-up input stops the process with one line per problem, before anything listens.</summary>
public sealed class StartupTests
{
    private static async Task<RoxyStartupException> StartExpectingFailureAsync(string yaml, Dictionary<string, string?> env)
    {
        var dir = Directory.CreateTempSubdirectory("roxy-startup-");
        var path = Path.Combine(dir.FullName, "config.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return await Assert.ThrowsAsync<RoxyStartupException>(() => RoxyHost.CreateAsync(new RoxyHostSettings
        {
            ConfigPath = path,
            Environment = env,
            Urls = "http://127.0.0.1:0",
        }));
    }

    [Fact]
    public async Task Unusable_master_key_and_config_problems_are_all_reported()
    {
        var failure = await StartExpectingFailureAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\nmodel_rules: [{ source_model: x, target_models: [gpt-4o], selection_policy: fallbak }]\n",
            new() { ["ROXY_TOKEN"] = "startup-token-0123456789", ["ROXY_MASTER_KEY"] = "c2hvcnQta2V5", ["ROXY_POSTGRES"] = "Host=127.0.0.1;Port=1" });

        Assert.Equal(2, failure.Problems.Count);
        Assert.Contains(failure.Problems, p => p.Contains("model_rules[0].selection_policy", StringComparison.Ordinal) && p.Contains(":2:", StringComparison.Ordinal));
        Assert.Contains(failure.Problems, p => p.Contains("ROXY_MASTER_KEY", StringComparison.Ordinal) && p.Contains("32", StringComparison.Ordinal));
        Assert.DoesNotContain(failure.Problems, p => p.Contains("c2hvcnQta2V5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_postgres_connection_string_is_reported()
    {
        var failure = await StartExpectingFailureAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n",
            new() { ["ROXY_TOKEN"] = "startup-token-0123456789" });

        Assert.Contains(failure.Problems, p => p.StartsWith("ROXY_POSTGRES:", StringComparison.Ordinal));
    }
}
