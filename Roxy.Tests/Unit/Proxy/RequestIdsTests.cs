using Microsoft.AspNetCore.Http;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

public class RequestIdsTests
{
    [Fact]
    public void Assigned_ids_are_well_formed_and_distinct()
    {
        var first = RequestIds.Assign(new DefaultHttpContext());
        var second = RequestIds.Assign(new DefaultHttpContext());

        Assert.NotEqual(first, second);
        Assert.True(RequestIds.IsWellFormed(first), first);
        Assert.True(RequestIds.IsWellFormed(second), second);
    }

    [Theory]
    [InlineData("")]
    [InlineData("req_")]
    [InlineData("req_ZZZZZZZZZZZZZZZZZZZZZZZZ")]
    [InlineData("REQ_000000000000000000000000")]
    [InlineData("req_0000000000000000000000000")]
    [InlineData("req_00000000000000000000000")]
    [InlineData("../../admin/tenants")]
    public void Anything_else_is_not_a_request_id(string id) => Assert.False(RequestIds.IsWellFormed(id));
}
