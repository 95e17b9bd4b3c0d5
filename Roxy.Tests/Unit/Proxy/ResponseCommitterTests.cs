using Microsoft.AspNetCore.Http;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

public class ResponseCommitterTests
{
    [Theory]
    [InlineData("x-request-id", "req\u00ff")]
    [InlineData("x-request-id", "req\u0001abc")]
    [InlineData("x-ratelimit-remaining-requests", "59\u00e9")]
    public void Upstream_header_values_kestrel_cannot_send_are_left_out(string name, string value)
    {
        using var upstream = new HttpResponseMessage();
        Assert.True(upstream.Headers.TryAddWithoutValidation(name, value));
        upstream.Headers.TryAddWithoutValidation("x-ratelimit-limit-requests", "60");
        var target = new HeaderDictionary();

        ResponseCommitter.CopyAllowed(upstream, target);

        Assert.Equal("60", target["x-ratelimit-limit-requests"]);
        Assert.DoesNotContain(target, h => h.Value.ToString().Contains(value, StringComparison.Ordinal));
    }

    [Fact]
    public void Printable_upstream_request_id_is_copied_under_roxys_name()
    {
        using var upstream = new HttpResponseMessage();
        upstream.Headers.TryAddWithoutValidation("x-request-id", "req_123");
        var target = new HeaderDictionary();

        ResponseCommitter.CopyAllowed(upstream, target);

        Assert.Equal("req_123", target["x-upstream-request-id"]);
    }
}

public class SendableHeaderTests
{
    [Theory]
    [InlineData("application/json; charset=utf-8", "application/json; charset=utf-8")]
    [InlineData("application/json; charset=\u00e9", "application/json")]
    [InlineData("application/json\r\nx-injected: 1", "application/json")]
    [InlineData(null, "application/json")]
    public void Upstream_content_type_is_sent_only_when_kestrel_can_send_it(string? upstream, string expected) =>
        Assert.Equal(expected, ResponseCommitter.SendableOr(upstream, "application/json"));
}
