using Roxy.Api.Configuration;

namespace Roxy.Tests.Unit.Configuration;

/// <summary>OpenRouter's <c>http_referer</c> / <c>x_title</c>: what start-up accepts and what it sends.</summary>
public sealed class ProviderAttributionConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-attribution-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Attribution_fields_become_headers_of_that_provider_only()
    {
        var result = Load("""
            providers:
              openrouter:
                base_url: "https://openrouter.ai/api/v1"
                http_referer: "https://myapp.example/chat?from=roxy"
                x_title: "My App (beta)"
                headers: { X-Extra: "kept" }
            """);

        Assert.Empty(result.Errors);
        var providers = result.Config!.Providers.ToDictionary(p => p.Name);
        var headers = providers["openrouter"].Headers;
        Assert.Equal("https://myapp.example/chat?from=roxy", headers["HTTP-Referer"]);
        Assert.Equal("My App (beta)", headers["X-Title"]);
        Assert.Equal("kept", headers["x-extra"]);
        Assert.Equal(3, headers.Count);
        Assert.Empty(providers["openai"].Headers);
        Assert.Empty(providers["chutes"].Headers);
    }

    [Fact]
    public void Attribution_changes_the_config_fingerprint()
    {
        var plain = Load("providers: { openrouter: { x_title: \"One\" } }\n");
        var other = Load("providers: { openrouter: { x_title: \"Two\" } }\n");

        Assert.Empty(plain.Errors);
        Assert.NotEqual(plain.Config!.Fingerprint, other.Config!.Fingerprint);
    }

    [Theory]
    [InlineData("myapp.example")]
    [InlineData("/relative/path")]
    [InlineData("ftp://myapp.example")]
    [InlineData("mailto:me@myapp.example")]
    [InlineData("https://")]
    public void Referer_that_is_not_an_absolute_http_url_is_refused(string referer)
    {
        var result = Load($"providers: {{ openrouter: {{ http_referer: \"{referer}\" }} }}\n");

        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Contains("providers.openrouter.http_referer: ", error, StringComparison.Ordinal);
        Assert.Contains("is not an absolute http or https URL", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http_referer", "\"https://myapp.example/\\u00e9\"")]
    [InlineData("http_referer", "\"https://myapp.example/\\nX-Injected: 1\"")]
    [InlineData("x_title", "\"My\\r\\nApp\"")]
    [InlineData("x_title", "\"Caf\\u00e9\"")]
    [InlineData("x_title", "\"tab\\there\"")]
    [InlineData("x_title", "\" padded\"")]
    [InlineData("x_title", "\"\"")]
    public void Attribution_value_that_is_not_a_plain_header_value_is_refused_without_echoing_it(string field, string yamlValue)
    {
        var result = Load($"providers: {{ openrouter: {{ {field}: {yamlValue} }} }}\n");

        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Contains($"providers.openrouter.{field}: must be printable ASCII", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("Caf", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Injected", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http_referer: \"https://a.example\"", "HTTP-Referer: \"https://b.example\"", "http_referer")]
    [InlineData("x_title: \"A\"", "x-title: \"B\"", "x_title")]
    public void Attribution_given_both_as_a_field_and_in_headers_is_refused(string field, string header, string path)
    {
        var result = Load($"providers: {{ openrouter: {{ {field}, headers: {{ {header} }} }} }}\n");

        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Contains($"providers.openrouter.{path}: is also set as headers.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_values_under_headers_must_be_plain_too()
    {
        var result = Load("providers: { groq: { base_url: \"https://api.groq.com/openai/v1\", headers: { X-Note: \"a\\nb\" } } }\n");

        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Contains("providers.groq.headers.X-Note: must be printable ASCII", error, StringComparison.Ordinal);
    }

    private ConfigLoadResult Load(string yaml)
    {
        var path = Path.Combine(_directory, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n" + yaml);
        return ConfigLoader.Load(path, new Dictionary<string, string?>(StringComparer.Ordinal) { ["ROXY_TOKEN"] = "tok-admin-0123456789" });
    }
}
