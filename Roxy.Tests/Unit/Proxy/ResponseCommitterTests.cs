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
