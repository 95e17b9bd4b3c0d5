using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// Reads an admin route's JSON body into its DTO (which refuses unknown fields), turning every failure into a 400 in
/// OpenAI's shape that names the field. Model binding would answer these with an empty 400 or a 500 instead.
/// </summary>
public static class AdminJsonBody
{
    public static async Task<(T? Value, ProxyError? Error)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted);
            return value is null ? (null, AdminErrors.Invalid("The body must be a JSON object.", null)) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Describe(ex));
        }
    }

    // The exception's own text names .NET types; only the field is taken from it, never a value.
    private static ProxyError Describe(JsonException ex)
    {
        var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var start = ex.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : ex.Message.IndexOf('\'', start + 1);
            var unknown = end > start + 1 ? ex.Message[(start + 1)..end] : field;
            unknown = unknown is { Length: > 64 } ? unknown[..64] + "…" : unknown;
            return AdminErrors.Invalid($"Unknown field '{unknown}'.", unknown);
        }

        if (ex.Path is null or "$" || ex.LineNumber is null)
        {
            return AdminErrors.Invalid("The body is not a JSON object of the documented shape.", null);
        }

        return field is null
            ? AdminErrors.Invalid("The body is not valid JSON.", null)
            : AdminErrors.Invalid($"The field '{field}' has the wrong type or is malformed.", field);
    }
}
