using System.Collections;

namespace Roxy.Api.Hosting;

/// <summary>Everything a Roxy process is started with. Tests build one per in-process instance.</summary>
public sealed class RoxyHostSettings
{
    public required string ConfigPath { get; init; }

    /// <summary>The environment the config's variable references and discovered keys are read from.</summary>
    public required IReadOnlyDictionary<string, string?> Environment { get; init; }

    /// <summary>Overrides <c>listen_addr</c> (tests listen on <c>http://127.0.0.1:0</c>).</summary>
    public string? Urls { get; init; }

    public Action<WebApplicationBuilder>? Configure { get; init; }

    public static RoxyHostSettings FromProcess(string[] args)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = entry.Value as string;
        }

        string? configPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                configPath = args[i + 1];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                configPath = args[i]["--config=".Length..];
            }
        }

        configPath ??= environment.GetValueOrDefault("ROXY_CONFIG");
        return new RoxyHostSettings
        {
            ConfigPath = string.IsNullOrWhiteSpace(configPath) ? "configs/config.yaml" : configPath,
            Environment = environment,
        };
    }
}
