using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// Reads an admin route's JSON body into its DTO (which refuses unknown fields), turning every failure into an error in
/// OpenAI's shape that names the field and never echoes a value: 413 above <see cref="MaxBytes"/>, 400 otherwise.
/// Model binding would answer these with an empty 400 or a 500 instead.
/// </summary>
public static class AdminJsonBody
{
    /// <summary>These bodies are a few fields; anything larger is not one of them.</summary>
    public const int MaxBytes = 64 * 1024;

    public static async Task<(T? Value, ProxyError? Error)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        var (body, error) = await ReadBytesAsync(request);
        if (error is not null)
        {
            return (null, error);
        }

        // Syntax first, so a truncated body is "not valid JSON" rather than a wrong type of its last field.
        if (SyntaxError(body) is { } syntax)
        {
            return (null, syntax);
        }

        try
        {
            var value = JsonSerializer.Deserialize(body, type);
            return value is null ? (null, AdminErrors.Invalid("The body must be a JSON object.", null)) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Describe(ex));
        }
    }

    private static async Task<(byte[] Body, ProxyError? Error)> ReadBytesAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBytes)
        {
            return ([], ProxyError.BodyTooLarge(MaxBytes));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return ([], ProxyError.BodyTooLarge(MaxBytes));
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.Length == 0
            ? ([], ProxyError.InvalidRequest("The request body is empty; send a JSON object.", null))
            : (buffer.ToArray(), null);
    }

    private static ProxyError? SyntaxError(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
            }

            return null;
        }
        catch (JsonException ex)
        {
            return ProxyError.BodyNotJsonAt(ex);
        }
    }

    // The exception's own text names .NET types; only the field's path is taken from it, never a value.
    private static ProxyError Describe(JsonException ex)
    {
        var field = Shorten(ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null);
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            // The path (budget.weekly_usd); for a name the path cannot spell plainly ($['a b']), the name in the message.
            var start = ex.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : ex.Message.IndexOf('\'', start + 1);
            var unknown = field ?? Shorten(end > start + 1 ? ex.Message[(start + 1)..end] : null);
            return AdminErrors.Invalid($"Unknown field '{unknown}'.", unknown);
        }

        return field is null
            ? AdminErrors.Invalid("The body is not a JSON object of the documented shape.", null)
            : AdminErrors.Invalid($"The field '{field}' has the wrong type or is malformed.", field);
    }

    private static string? Shorten(string? name) => name is { Length: > 64 } ? name[..64] + "…" : name;
}
