using System.Text;
using Roxy.Api.Providers.Anthropic;
using Roxy.Grains.Rotation;

namespace Roxy.Tests.Unit.Providers.Anthropic;

/// <summary>The README's table of upstream signals for Anthropic's statuses and error types, and its errors in OpenAI's terms.</summary>
public sealed class AnthropicErrorTests
{
    private static byte[] Body(string type, string message) =>
        Encoding.UTF8.GetBytes($$"""{"type":"error","error":{"type":"{{type}}","message":"{{message}}"},"request_id":"req_1"}""");

    [Theory]
    [InlineData(200, "", "", UpstreamOutcome.Success)]
    [InlineData(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", UpstreamOutcome.RateLimited)]
    [InlineData(529, "overloaded_error", "Overloaded", UpstreamOutcome.ProviderOverloaded)]
    [InlineData(503, "overloaded_error", "Overloaded", UpstreamOutcome.ProviderOverloaded)]
    [InlineData(401, "authentication_error", "invalid x-api-key", UpstreamOutcome.AuthFailed)]
    [InlineData(403, "permission_error", "Your API key does not have permission to use the specified resource.", UpstreamOutcome.AuthFailed)]
    [InlineData(402, "billing_error", "Payment required", UpstreamOutcome.QuotaExhausted)]
    [InlineData(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", UpstreamOutcome.QuotaExhausted)]
    [InlineData(400, "invalid_request_error", "You have reached your specified API usage limits. You will regain access on 2026-02-01 at 00:00 UTC.", UpstreamOutcome.QuotaExhausted)]
    [InlineData(400, "invalid_request_error", "max_tokens: Field required", UpstreamOutcome.CallerError)]
    [InlineData(404, "not_found_error", "model: claude-nope", UpstreamOutcome.CallerError)]
    [InlineData(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", UpstreamOutcome.CallerError)]
    [InlineData(500, "api_error", "Internal server error", UpstreamOutcome.Failed)]
    [InlineData(504, "timeout_error", "Request timed out", UpstreamOutcome.Failed)]
    public void Status_and_error_type_classify_as_the_table_says(int status, string type, string message, UpstreamOutcome expected) =>
        Assert.Equal(expected, AnthropicClassifier.Classify(status, Body(type, message)));

    [Theory]
    [InlineData(529, UpstreamOutcome.ProviderOverloaded)]
    [InlineData(429, UpstreamOutcome.RateLimited)]
    [InlineData(400, UpstreamOutcome.CallerError)]
    [InlineData(502, UpstreamOutcome.Failed)]
    public void A_body_that_is_not_anthropics_classifies_by_status(int status, UpstreamOutcome expected)
    {
        Assert.Equal(expected, AnthropicClassifier.Classify(status, "<html>Bad gateway</html>"u8));
        Assert.Equal(expected, AnthropicClassifier.Classify(status, """{"type":"error","error":{"type":"\uD800","message":"\uDC00"}}"""u8));
    }

    [Theory]
    [InlineData("overloaded_error", UpstreamOutcome.ProviderOverloaded)]
    [InlineData("rate_limit_error", UpstreamOutcome.RateLimited)]
    [InlineData("api_error", UpstreamOutcome.Failed)]
    [InlineData("invalid_request_error", UpstreamOutcome.Failed)]
    [InlineData("authentication_error", UpstreamOutcome.AuthFailed)]
    public void Stream_error_events_classify_by_their_type(string type, UpstreamOutcome expected)
    {
        var evt = Encoding.UTF8.GetBytes($"event: error\ndata: {Encoding.UTF8.GetString(Body(type, "x"))}\n\n");
        Assert.Equal(expected, AnthropicClassifier.ClassifyStreamError(AnthropicSse.Data(evt, out _)));
    }

    [Fact]
    public void Prompt_too_long_is_context_length_exceeded()
    {
        var error = AnthropicErrorBody.Describe(400, Body("invalid_request_error", "prompt is too long: 210345 tokens > 200000 maximum"));

        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("context_length_exceeded", error.Code);
        Assert.Equal("prompt is too long: 210345 tokens > 200000 maximum", error.Message);
    }

    [Fact]
    public void Input_and_max_tokens_over_the_window_is_context_length_exceeded_too()
    {
        var error = AnthropicErrorBody.Describe(400, Body("invalid_request_error",
            "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, decrease input length or `max_tokens` and try again"));

        Assert.Equal("context_length_exceeded", error.Code);
    }

    [Fact]
    public void Unknown_model_is_model_not_found()
    {
        var error = AnthropicErrorBody.Describe(404, Body("not_found_error", "model: claude-nope"));

        Assert.Equal(404, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("model_not_found", error.Code);
        Assert.Equal("model", error.Param);
    }

    [Fact]
    public void Request_too_large_is_413()
    {
        var error = AnthropicErrorBody.Describe(413, Body("request_too_large", "Request exceeds the maximum allowed number of bytes."));

        Assert.Equal(413, error.Status);
        Assert.Equal("request_too_large", error.Code);
    }

    [Fact]
    public void Other_caller_errors_keep_anthropics_message()
    {
        var error = AnthropicErrorBody.Describe(400, Body("invalid_request_error", "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"));

        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("upstream_rejected_request", error.Code);
        Assert.Equal("messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'", error.Message);
    }

    [Fact]
    public void A_caller_error_without_a_body_still_says_something()
    {
        var error = AnthropicErrorBody.Describe(422, default);

        Assert.Equal(422, error.Status);
        Assert.Equal("The provider rejected the request with status 422.", error.Message);
    }
}
