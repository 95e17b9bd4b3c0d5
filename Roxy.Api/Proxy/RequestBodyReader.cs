using Microsoft.AspNetCore.Http.Features;
using Roxy.Api.Errors;

namespace Roxy.Api.Proxy;

/// <summary>Reads the request body into one pooled buffer, refusing more than the configured limit with 413.</summary>
public static class RequestBodyReader
{
    public static async ValueTask<(PooledBuffer? Body, ProxyError? Error)> ReadAsync(HttpContext context, long limit)
    {
        var length = context.Request.ContentLength;
        if (length > limit)
        {
            return (null, ProxyError.BodyTooLarge(limit));
        }

        // Roxy enforces its own limit with an OpenAI-shaped 413, not Kestrel's bare one.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        // A slow upload (Kestrel's minimum data rate still applies) holds what it sent, not what it announced.
        var buffer = PooledBuffer.ForDeclaredLength(length, 4096);
        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                foreach (var segment in result.Buffer)
                {
                    if (buffer.Length + segment.Length > limit)
                    {
                        reader.AdvanceTo(result.Buffer.End);
                        buffer.Dispose();
                        return (null, ProxyError.BodyTooLarge(limit));
                    }

                    buffer.Write(segment.Span);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }

        if (buffer.Length == 0)
        {
            buffer.Dispose();
            return (null, ProxyError.InvalidRequest("The request body is empty; send a JSON object.", null));
        }

        return (buffer, null);
    }
}
