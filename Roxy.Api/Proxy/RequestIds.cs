namespace Roxy.Api.Proxy;

public static class RequestIds
{
    /// <summary>Gives every request an id, echoed as <c>x-request-id</c> and used in the request log.</summary>
    public static string Assign(HttpContext http)
    {
        var id = string.Create(36, Guid.NewGuid(), static (span, guid) =>
        {
            "req_".CopyTo(span);
            guid.TryFormat(span[4..], out _, "N");
        });
        http.Response.Headers["x-request-id"] = id;
        return id;
    }
}
