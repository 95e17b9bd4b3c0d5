using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Roxy.Api.Errors;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public class AnthropicRequestTranslatorTests
{
    private const string Model = "claude-sonnet-4-5-20250929";

    private static readonly string GoldenDirectory = Path.Combine(AppContext.BaseDirectory, "TestData", "anthropic", "requests");

    public static TheoryData<string> GoldenCases()
    {
        var cases = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(GoldenDirectory, "*.openai.json").Order(StringComparer.Ordinal))
        {
            cases.Add(Path.GetFileName(file)[..^".openai.json".Length]);
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Golden_request_translates_to_the_expected_Anthropic_body(string name)
    {
        var input = File.ReadAllText(Path.Combine(GoldenDirectory, name + ".openai.json"));
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenDirectory, name + ".anthropic.json")))!;
        // The target model is the expected body's own, so each case can pick the table row it exercises.
        var actual = Translate(input, expected["model"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{name}:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
    }

    [Fact]
    public void Golden_cases_exist() => Assert.True(GoldenCases().Count >= 1);

    internal static JsonNode Translate(string openAiJson, string model = Model)
    {
        var error = TryTranslate(openAiJson, model, out var body);
        Assert.True(error is null, error?.Message);
        return body!;
    }

    internal static ProxyError TranslateError(string openAiJson, string model = Model)
    {
        var error = TryTranslate(openAiJson, model, out var body);
        Assert.Null(body);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        return error;
    }

    private static ProxyError? TryTranslate(string openAiJson, string model, out JsonNode? translated)
    {
        translated = null;
        var bytes = Encoding.UTF8.GetBytes(openAiJson);
        // The request goes through the same reader as on the proxy path, which validates first.
        var readError = ChatRequestReader.TryRead(bytes, out var info);
        Assert.Null(readError);
        var error = AnthropicRequestTranslator.Translate(bytes, info, model, out var body);
        if (body is not null)
        {
            using (body)
            {
                translated = JsonNode.Parse(body.Span);
            }
        }

        return error;
    }
}
