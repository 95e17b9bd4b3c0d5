using System.Text;
using Roxy.Api.Providers.OpenAi;
using Roxy.Grains.Rotation;

namespace Roxy.Tests.Unit.Providers;

public class UpstreamClassifierTests
{
    private static UpstreamOutcome Classify(int status, string body = "") => UpstreamClassifier.Classify(status, Encoding.UTF8.GetBytes(body));

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(299)]
    public void Two_hundreds_are_success(int status) => Assert.Equal(UpstreamOutcome.Success, Classify(status));

    [Fact]
    public void Plain_429_is_rate_limited()
    {
        Assert.Equal(UpstreamOutcome.RateLimited, Classify(429));
        Assert.Equal(UpstreamOutcome.RateLimited, Classify(429, """{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"""));
    }

    [Fact]
    public void Insufficient_quota_429_is_quota_exhausted()
    {
        Assert.Equal(
            UpstreamOutcome.QuotaExhausted,
            Classify(429, """{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"""));
    }

    [Fact]
    public void Payment_required_402_is_quota_exhausted() => Assert.Equal(UpstreamOutcome.QuotaExhausted, Classify(402));

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public void Unauthorized_and_forbidden_are_auth_failed(int status) => Assert.Equal(UpstreamOutcome.AuthFailed, Classify(status));

    [Fact]
    public void Anthropic_529_is_provider_overloaded() => Assert.Equal(UpstreamOutcome.ProviderOverloaded, Classify(529));

    [Fact]
    public void Service_unavailable_with_overloaded_body_is_provider_overloaded()
    {
        Assert.Equal(UpstreamOutcome.ProviderOverloaded, Classify(503, """{"error":{"message":"The engine is currently overloaded, please try again later"}}"""));
        Assert.Equal(UpstreamOutcome.ProviderOverloaded, Classify(503, """{"type":"error","error":{"type":"overloaded_error"}}"""));
    }

    [Fact]
    public void Service_unavailable_without_overloaded_body_is_failed() => Assert.Equal(UpstreamOutcome.Failed, Classify(503, "upstream connect error"));

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    public void Server_errors_are_failed(int status) => Assert.Equal(UpstreamOutcome.Failed, Classify(status));

    [Theory]
    [InlineData(408)]
    [InlineData(409)]
    [InlineData(405)]
    [InlineData(415)]
    [InlineData(451)]
    public void Other_provider_4xx_are_failed_and_retried(int status) => Assert.Equal(UpstreamOutcome.Failed, Classify(status));

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(413)]
    [InlineData(422)]
    public void Caller_errors_pass_through(int status) => Assert.Equal(UpstreamOutcome.CallerError, Classify(status));

    [Fact]
    public void Overloaded_body_on_a_non_503_does_not_mean_overloaded()
    {
        Assert.Equal(UpstreamOutcome.Failed, Classify(500, "overloaded"));
        Assert.Equal(UpstreamOutcome.CallerError, Classify(400, "overloaded"));
    }
}
