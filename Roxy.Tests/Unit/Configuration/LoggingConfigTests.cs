using Roxy.Api.Configuration;

namespace Roxy.Tests.Unit.Configuration;

public sealed class LoggingConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-logging-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Logging_defaults_to_text_at_information()
    {
        var result = ConfigLoader.Load(Write("listen_addr: \":9000\"\n"), Env());

        Assert.Empty(result.Errors);
        Assert.Equal(("text", "information"), (result.Config!.Raw.Logging.Format, result.Config.Raw.Logging.Level));
    }

    [Fact]
    public void Logging_format_and_level_are_read_from_the_config()
    {
        var result = ConfigLoader.Load(Write("logging: { format: json, level: warning }\n"), Env());

        Assert.Empty(result.Errors);
        Assert.Equal(("json", "warning"), (result.Config!.Raw.Logging.Format, result.Config.Raw.Logging.Level));
    }

    [Fact]
    public void Logging_format_typo_reports_line_column_and_allowed_values()
    {
        var path = Write("""
            logging:
              format: jsn
              level: verbose
            """);

        var result = ConfigLoader.Load(path, Env());

        Assert.Null(result.Config);
        Assert.Equal(
            [$"{path}:2:11: logging.format: 'jsn' is not one of text, json",
             $"{path}:3:10: logging.level: 'verbose' is not one of trace, debug, information, warning, error, critical, none"],
            result.Errors);
    }

    [Fact]
    public void ROXY_LOG_FORMAT_overrides_the_config_and_is_checked_like_it()
    {
        var path = Write("logging: { format: text }\n");

        var overridden = ConfigLoader.Load(path, Env(("ROXY_LOG_FORMAT", "json")));
        var bad = ConfigLoader.Load(path, Env(("ROXY_LOG_FORMAT", "jsn")));

        Assert.Equal("json", overridden.Config!.Raw.Logging.Format);
        Assert.Equal(["env ROXY_LOG_FORMAT: logging.format: 'jsn' is not one of text, json"], bad.Errors);
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static Dictionary<string, string?> Env(params (string Name, string? Value)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
}
