using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;
using Roxy.Api.Errors;

namespace Roxy.Api.Proxy;

/// <summary>
/// A request body as one <see cref="JsonDocument"/>, for the translators that copy its texts as raw JSON: the bytes
/// are checked for UTF-8 once, here, parsed to the depth every request reader accepts, and must be an object.
/// </summary>
public static class RequestDocument
{
    /// <returns>True with <paramref name="document"/> set (the caller disposes it); false with the 400 to answer.</returns>
    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out ProxyError? error)
    {
        document = null;
        error = Read(body, ref document);
        return error is null;
    }

    private static ProxyError? Read(ReadOnlySpan<byte> body, ref JsonDocument? document)
    {
        if (!Utf8.IsValid(body))
        {
            return ProxyError.BodyNotUtf8;
        }

        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return ProxyError.BodyNotJson;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            document = null;
            return ProxyError.BodyNotAnObject;
        }

        return null;
    }
}
